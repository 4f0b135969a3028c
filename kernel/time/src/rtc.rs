//! The CMOS real-time clock.

use x86_64::instructions::port::Port;

fn read_register(reg: u8) -> u8 {
    // SAFETY: CMOS index/data ports; bit 7 of the index keeps NMIs disabled while reading.
    unsafe {
        Port::<u8>::new(0x70).write(0x80 | reg);
        Port::<u8>::new(0x71).read()
    }
}

fn snapshot() -> [u8; 7] {
    while read_register(0x0a) & 0x80 != 0 {} // wait out an update in progress
    [0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32].map(read_register)
}

/// The RTC's time as seconds since the Unix epoch (the RTC is assumed to hold UTC).
pub fn read_unix_seconds() -> u64 {
    // Read until two consecutive snapshots agree, so no update tears the value.
    let mut a = snapshot();
    loop {
        let b = snapshot();
        if a == b {
            break;
        }
        a = b;
    }
    let status_b = read_register(0x0b);
    let bcd = status_b & 0x04 == 0;
    let conv = |v: u8| if bcd { (v & 0x0f) + (v >> 4) * 10 } else { v };
    let [sec, min, hour_raw, day, month, year, century] = a;
    let mut hour = conv(hour_raw & 0x7f);
    if status_b & 0x02 == 0 && hour_raw & 0x80 != 0 {
        hour = (hour % 12) + 12; // 12-hour mode, PM
    }
    let century = match conv(century) {
        c @ 19..=21 => u64::from(c),
        _ => 20,
    };
    let year = century * 100 + u64::from(conv(year));
    crate::unix_from_civil(
        year as i64,
        u32::from(conv(month)),
        u32::from(conv(day)),
        u32::from(hour),
        u32::from(conv(min)),
        u32::from(conv(sec)),
    )
}
