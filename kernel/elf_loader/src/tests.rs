//! In-kernel tests of the loader: malformed inputs, a real program from the ramdisk, and
//! damaged copies of it (running programs is tested end to end with the programs xtask builds).

use crate::{LoadError, classify, load};
use ktest::kernel_test;

kernel_test! {
    fn malformed_inputs_are_refused_with_clear_errors() {
        assert!(matches!(load(b""), Err(LoadError::NotElf(_))));
        assert!(matches!(load(b"#!/bin/sh\n"), Err(LoadError::NotElf(_))));
        let mut header = [0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 1; // 32-bit
        assert_eq!(load(&header).err(), Some(LoadError::WrongClass));
        header[4] = 2;
        header[5] = 1; // little endian
        header[6] = 1;
        // Truncated: program headers claimed but absent.
        header[16] = 3; // ET_DYN
        header[18] = 62; // EM_X86_64
        header[52] = 64; // e_ehsize
        header[54] = 56; // e_phentsize
        header[56] = 4; // e_phnum
        header[32] = 64; // e_phoff
        assert!(matches!(load(&header), Err(LoadError::NotElf(_))));
        header[56] = 0;
        // No dynamic section: not a PIE executable.
        assert_eq!(load(&header).err(), Some(LoadError::NotAnExecutable));
        header[18] = 183; // aarch64
        assert_eq!(load(&header).err(), Some(LoadError::WrongMachine(183)));
        header[18] = 62;
        header[16] = 2; // ET_EXEC
        assert_eq!(load(&header).err(), Some(LoadError::NotPositionIndependent(2)));
        let msg = alloc::format!("{}", LoadError::NeedsInterpreter);
        assert!(msg.contains("needs a dynamic loader"), "{msg}");
    }
}

/// The bytes of a real program from the ramdisk (xtask installs ports/linux/c/hello.c as
/// /bin/hello-c).
fn real_program() -> alloc::vec::Vec<u8> {
    rootfs::with(|fs| {
        let node = fs
            .lookup("/bin/hello-c")
            .expect("/bin/hello-c in the ramdisk");
        fs.file_data(node).unwrap().to_vec()
    })
}

kernel_test! {
    fn real_program_loads_and_damaged_copies_are_refused() {
        let bytes = real_program();
        assert_eq!(classify(&bytes), Ok(()));
        let program = load(&bytes).expect("hello-c loads");
        let (start, len) = program.image_range();
        assert!(program.entry() > start && program.entry() < start + len);
        let (phdr, phnum) = program.program_headers();
        assert!(phdr >= start && phdr < start + len && phnum > 2);
        // The image is user memory: a system call may name it.
        assert!(memory::user_range_accessible(start, 4096, false));
        drop(program);
        assert!(!memory::user_range_accessible(start, 4096, false), "unmapped when dropped");
        // Truncated copies: an error, never a panic.
        for cut in [0, 4, 20, 64, 100, bytes.len() / 3, bytes.len() - 1] {
            assert!(load(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // Another machine.
        let mut other = bytes.clone();
        other[18..20].copy_from_slice(&183u16.to_le_bytes());
        assert_eq!(load(&other).err(), Some(LoadError::WrongMachine(183)));
    }
}

kernel_test! {
    fn mutated_programs_never_panic_the_loader() {
        // A deterministic fuzz: copies of a real program with random bytes changed, mostly in
        // the ELF and program headers (where the loader reads fields), some anywhere. Every
        // copy must load or be refused with an error; nothing may panic or fault.
        let bytes = real_program();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut loaded, mut refused) = (0, 0);
        for round in 0..300 {
            let mut copy = bytes.clone();
            let changes = 1 + next() % 8;
            for _ in 0..changes {
                let span = if round % 4 == 0 { copy.len() } else { 64 + 56 * 12 };
                let at = (next() as usize) % span.min(copy.len());
                copy[at] = match next() % 4 {
                    0 => 0xff,
                    1 => 0,
                    _ => next() as u8,
                };
            }
            match load(&copy) {
                Ok(program) => {
                    let (start, len) = program.image_range();
                    assert!(program.entry() >= start && program.entry() < start + len);
                    loaded += 1;
                }
                Err(_) => refused += 1,
            }
        }
        assert_eq!(loaded + refused, 300);
        assert!(refused > 0, "no mutation was refused");
    }
}

kernel_test! {
    fn loads_of_the_same_bytes_share_read_only_pages_only() {
        use crate::load_sharing;
        use object::read::elf::ProgramHeader;
        let bytes = real_program();
        let first = load(&bytes).unwrap();
        let second = load_sharing(&bytes, Some(first.read_only_pages())).unwrap();
        assert!(alloc::sync::Arc::ptr_eq(first.read_only_pages(), second.read_only_pages()));
        let file = crate::open(&bytes).unwrap();
        let endian = file.endian();
        let (mut shared, mut private) = (0, 0);
        let image = |program: &crate::LinuxProgram, page: u64| program.image_range().0 + page;
        for p in crate::checked_segments(&file, &bytes).unwrap().0 {
            let (vaddr, off, filesz) = (p.p_vaddr(endian), p.p_offset(endian), p.p_filesz(endian));
            if p.p_flags(endian).0 & object::elf::PF_W.0 != 0 {
                // Every page a writable segment touches is each image's own.
                let page = vaddr & !4095;
                let (a, b) = (image(&first, page), image(&second, page));
                assert_ne!(memory::translate(a), memory::translate(b), "page {page:#x}");
                private += 1;
                continue;
            }
            // Whole pages of a read-only segment hold the file's bytes, in frames both share
            // (a page it shares with a writable segment is private).
            let (from, to) = (vaddr.next_multiple_of(4096), (vaddr + filesz) & !4095);
            for page in (from..to).step_by(4096) {
                let (a, b) = (image(&first, page), image(&second, page));
                // SAFETY: pages inside both live images, within their segments' file bytes.
                let (in_a, in_b) = unsafe {
                    (
                        core::slice::from_raw_parts(a as *const u8, 4096),
                        core::slice::from_raw_parts(b as *const u8, 4096),
                    )
                };
                let src = (off + page - vaddr) as usize;
                assert_eq!(in_a, &bytes[src..src + 4096], "page {page:#x}");
                assert_eq!(in_b, in_a, "page {page:#x}");
                if memory::translate(a) == memory::translate(b) {
                    shared += 1;
                }
            }
        }
        assert!(shared > 0 && private > 0, "shared {shared}, private {private}");
        // The first image gone, the second still reads its text.
        let (entry, first_entry) = (second.entry(), first.entry());
        // SAFETY: the entry points lie in the live images' text.
        let code = unsafe { (first_entry as *const [u8; 16]).read_volatile() };
        drop(first);
        // SAFETY: as above, the second image is still alive.
        assert_eq!(unsafe { (entry as *const [u8; 16]).read_volatile() }, code);
    }
}
