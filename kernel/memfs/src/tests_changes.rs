//! What the observer is told ([`Change`]), call by call.

use super::*;
use std::cell::RefCell;
use std::vec::Vec;

std::thread_local! {
    static TOLD: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records a change as text, with nodes shown by index.
fn record(change: &Change<'_>) {
    let text = match *change {
        Change::Added {
            dir,
            name,
            node,
            kind,
            new,
        } => format!(
            "added {}/{name}={} {kind:?} new={new}",
            dir.index, node.index
        ),
        Change::Removed {
            dir,
            name,
            node,
            kind,
        } => format!("removed {}/{name}={} {kind:?}", dir.index, node.index),
        Change::Moved {
            from_dir,
            from_name,
            to_dir,
            to_name,
            node,
            ..
        } => format!(
            "moved {}/{from_name} -> {}/{to_name} ={}",
            from_dir.index, to_dir.index, node.index
        ),
        Change::LinkCount { node, .. } => format!("links {}", node.index),
        Change::Deleted { node, .. } => format!("deleted {}", node.index),
    };
    TOLD.with(|t| t.borrow_mut().push(text));
}

fn told() -> Vec<String> {
    TOLD.with(|t| core::mem::take(&mut *t.borrow_mut()))
}

#[test]
fn names_and_links_are_told_in_linux_order() {
    let mut fs = MemFs::new();
    fs.mkdir("/d", 0o755, 0).unwrap();
    fs.set_observer(Some(record));
    let f = fs.create_file("/d/f", 0o644, 0).unwrap();
    let d = fs.lookup("/d").unwrap();
    let (di, fi) = (d.index, f.index);
    assert_eq!(told(), [format!("added {di}/f={fi} File new=true")]);

    fs.link("/d/f", "/d/g", false, 0).unwrap();
    assert_eq!(
        told(),
        [
            format!("links {fi}"),
            format!("added {di}/g={fi} File new=false")
        ]
    );

    fs.unlink("/d/g", 0).unwrap();
    assert_eq!(
        told(),
        [format!("links {fi}"), format!("removed {di}/g={fi} File")]
    );

    fs.rename("/d/f", "/h", 0).unwrap();
    assert_eq!(told(), [format!("moved {di}/f -> 0/h ={fi}")]);

    // Renaming over a file: the replaced one loses its last name.
    let k = fs.create_file("/k", 0o644, 0).unwrap();
    told();
    fs.rename("/h", "/k", 0).unwrap();
    assert_eq!(
        told(),
        [
            format!("deleted {}", k.index),
            format!("moved 0/h -> 0/k ={fi}")
        ]
    );

    // The last name of an open file: deleted now, freed with its last close.
    fs.hold(f).unwrap();
    fs.unlink("/k", 0).unwrap();
    assert_eq!(
        told(),
        [format!("deleted {fi}"), format!("removed 0/k={fi} File")]
    );
    fs.release(f);
    assert!(told().is_empty(), "freeing later tells nothing more");

    fs.rmdir("/d", 0).unwrap();
    assert_eq!(
        told(),
        [
            format!("deleted {di}"),
            format!("removed 0/d={di} Directory")
        ]
    );

    // Failed calls tell nothing; without an observer nothing is told.
    assert!(fs.unlink("/missing", 0).is_err());
    fs.set_observer(None);
    fs.mkdir("/e", 0o755, 0).unwrap();
    assert!(told().is_empty());
}

#[test]
fn keys_differ_for_a_reused_slot() {
    let mut fs = MemFs::new();
    let a = fs.create_file("/a", 0o644, 0).unwrap();
    fs.unlink("/a", 0).unwrap();
    let b = fs.create_file("/b", 0o644, 0).unwrap();
    assert_eq!(a.index(), b.index(), "the slot is reused");
    assert_ne!(a.key(), b.key());
}
