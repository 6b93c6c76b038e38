//! A small ext4 filesystem on a loop device, whose power can be cut: the
//! power-cut test keeps the log's and the witness's data on such disks.
//!
//! A power cut is `freeze` (SIGSTOP every process writing to the disk, and
//! wait until each of its threads has stopped), then `cut` (`mount -o
//! remount,abort`): ext4 stops writing, so whatever was not yet handed to
//! the device (dirty pages, the size of a file appended with
//! `sync_file_range`, an uncommitted journal transaction) is gone, exactly
//! as after a power cut; what an `fsync` or `fdatasync` made durable was
//! handed to the device and stays. Then `unmount`, `fsck` (`e2fsck -f -y`,
//! replaying the journal) and `mount` bring up what the disk held.
//!
//! Freezing first makes the cut an instant, as a real one is. The abort
//! itself takes milliseconds: ext4 aborts its journal, writes its
//! superblock, and only then refuses writes and syncs. In between, an
//! `fdatasync` of a file whose pages were already written back finds its
//! transaction "committed" (by the abort, which discards it) and returns
//! success: a process still running would acknowledge what the cut takes
//! away. (A loop of `pwrite` + `fdatasync` cut that way lost its last
//! acknowledged write in 3 of 30 cuts on Linux 6.18.) A frozen
//! process cannot: a thread inside a system call stops when the call
//! returns, before it acts on the result.
//!
//! Needs root, a loop device, `mkfs.ext4`, `e2fsck`, `losetup` and `mount`:
//! `LoopFs::available` fails the test under CI (`CI` set) when one is
//! missing, and otherwise prints a loud notice so the caller can skip.
//! `Drop` unmounts and detaches the loop device, also when a test panics.

use std::ffi::{c_char, c_int, c_ulong, c_void, CString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// An image file in a temporary directory, attached to a loop device and
/// (while `mounted`) mounted at `mnt`.
pub struct LoopFs {
    device: String,
    mnt: PathBuf,
    mounted: bool,
    /// Holds the image and the mount point; removed after `Drop` unmounts.
    _dir: tempfile::TempDir,
}

/// Runs a command to completion, with its output captured.
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Panics with the command's output unless it exited 0.
fn must(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {} failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// True if `program ARGS` runs and exits 0.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// True if this process runs as root (user id 0).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

impl LoopFs {
    /// True if a loop-mounted ext4 can be made and cut here; otherwise
    /// fails under CI or tells the developer loudly that `test` is skipped.
    pub fn available(test: &str) -> bool {
        let missing: Vec<&str> = [
            (!is_root(), "root"),
            (!runs("mkfs.ext4", &["-V"]), "mkfs.ext4"),
            (!runs("e2fsck", &["-V"]), "e2fsck"),
            (!runs("mount", &["-V"]), "mount"),
            // Prints a free loop device; fails without /dev/loop-control or permission.
            (
                !runs("losetup", &["--find"]),
                "a free loop device (losetup --find)",
            ),
        ]
        .into_iter()
        .filter_map(|(absent, what)| absent.then_some(what))
        .collect();
        if missing.is_empty() {
            return true;
        }
        let missing = missing.join(", ");
        if std::env::var_os("CI").is_some() {
            panic!("{test}: needs {missing}, and CI is set so this test must run (run as root; apt-get install -y e2fsprogs mount)");
        }
        // Straight to the process's stderr: the test harness captures
        // `eprintln!` of passing tests, and this must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n######## SKIPPED {test}: needs {missing} (run as root; apt-get install -y e2fsprogs); set CI=1 to make this a failure ########\n"
        );
        false
    }

    /// Makes a sparse image of `mib` MiB, formats it ext4, attaches it to a
    /// free loop device and mounts it.
    pub fn create(mib: u64) -> LoopFs {
        let dir = tempfile::tempdir().expect("temporary directory");
        let image = dir.path().join("disk.img");
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(mib * 1024 * 1024))
            .expect("image file");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).expect("mount point");
        let image_arg = image.to_str().expect("UTF-8 temporary path");
        // Inode tables and journal written now, not by a kernel thread
        // racing the first cut.
        must(
            "mkfs.ext4",
            &[
                "-F",
                "-q",
                "-E",
                "lazy_itable_init=0,lazy_journal_init=0",
                image_arg,
            ],
        );
        let device = must("losetup", &["--find", "--show", image_arg]);
        let mut fs = LoopFs {
            device,
            mnt,
            mounted: false,
            _dir: dir,
        };
        fs.mount();
        fs
    }

    /// Where the filesystem is mounted.
    pub fn path(&self) -> &Path {
        &self.mnt
    }

    fn mnt_arg(&self) -> &str {
        self.mnt.to_str().expect("UTF-8 temporary path")
    }

    /// Mounts the device (after `fsck`).
    pub fn mount(&mut self) {
        must("mount", &["-t", "ext4", &self.device, self.mnt_arg()]);
        self.mounted = true;
    }

    /// The power cut, once the writers are frozen: from now on nothing
    /// more reaches the device.
    ///
    /// This is `mount -o remount,abort` made as the mount(2) call itself:
    /// starting mount(8) takes milliseconds, and in that time the kernel's
    /// own journal commit or writeback could make durable what the code
    /// under test never synced.
    pub fn cut(&self) {
        extern "C" {
            fn mount(
                source: *const c_char,
                target: *const c_char,
                fstype: *const c_char,
                flags: c_ulong,
                data: *const c_void,
            ) -> c_int;
        }
        /// MS_REMOUNT from <sys/mount.h>.
        const MS_REMOUNT: c_ulong = 32;
        let target = CString::new(self.mnt_arg()).expect("no NUL in the mount point");
        let options = CString::new("abort").expect("no NUL");
        // SAFETY: mount(2) with valid NUL-terminated strings that outlive
        // the call, null pointers where it takes them (no source or type on
        // a remount), and plain flags; it touches no memory of ours.
        let status = unsafe {
            mount(
                std::ptr::null(),
                target.as_ptr(),
                std::ptr::null(),
                MS_REMOUNT,
                options.as_ptr().cast(),
            )
        };
        assert_eq!(
            status,
            0,
            "mount -o remount,abort {}: {}",
            self.mnt.display(),
            std::io::Error::last_os_error()
        );
    }

    /// Unmounts; every process with a file open on it must be gone. Retries
    /// for a while, since a killed process closes its files as it exits.
    pub fn unmount(&mut self) {
        for _ in 0..100 {
            if runs("umount", &[self.mnt_arg()]) {
                self.mounted = false;
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        must("umount", &[self.mnt_arg()]);
        self.mounted = false;
    }

    /// `e2fsck -f -y` on the unmounted device: replays the journal and
    /// repairs what it must. Returns its exit code, which must be 0 (clean),
    /// 1 (fixed) or 2 (fixed, reboot advised); anything else panics.
    pub fn fsck(&self) -> i32 {
        assert!(!self.mounted, "e2fsck runs on the unmounted filesystem");
        let out = run("e2fsck", &["-f", "-y", &self.device]);
        let code = out.status.code().unwrap_or(-1);
        assert!(
            (0..=2).contains(&code),
            "e2fsck could not repair the filesystem (exit {code}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        code
    }
}

/// Stops the processes `pids` (SIGSTOP) and waits until every thread of
/// each one has stopped: the first half of a power cut (module comment).
pub fn freeze(pids: &[u32]) {
    extern "C" {
        fn kill(pid: c_int, sig: c_int) -> c_int;
    }
    /// SIGSTOP on Linux (x86-64 and arm64 alike).
    const SIGSTOP: c_int = 19;
    for &pid in pids {
        let pid = c_int::try_from(pid).expect("a process id");
        // SAFETY: kill(2) takes two integers and touches no memory of ours.
        // It fails only for a process already gone, which is then stopped enough.
        unsafe { kill(pid, SIGSTOP) };
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !pids.iter().all(|&pid| stopped(pid)) {
        assert!(
            std::time::Instant::now() < deadline,
            "processes {pids:?} did not stop within 10 s"
        );
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// True if every thread of process `pid` is stopped (or it is gone).
fn stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    tasks.flatten().all(|task| {
        // "pid (comm) S ...": the state follows the last parenthesis.
        std::fs::read_to_string(task.path().join("stat")).map_or(true, |stat| {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            matches!(state, Some('T' | 't' | 'Z' | 'X'))
        })
    })
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        if self.mounted {
            let mnt = self.mnt.clone();
            let mnt = mnt.to_str().unwrap_or_default();
            // A plain unmount once the callers' processes are gone; lazily
            // if something still holds it, so the device can be detached.
            if !(0..20).any(|_| {
                runs("umount", &[mnt]) || {
                    std::thread::sleep(Duration::from_millis(50));
                    false
                }
            }) {
                let _ = runs("umount", &["-l", mnt]);
            }
        }
        let _ = runs("losetup", &["-d", &self.device]);
    }
}
