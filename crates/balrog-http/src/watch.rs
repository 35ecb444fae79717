//! Cheap "has this changed?" checks for what requests re-reads on every request: a few
//! environment variables and the directory holding the netrc candidates.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The version tag CPython 3.11–3.13 stamps on a dict at every change (PEP 509): equal
/// tags mean an unchanged dict. None where the tag is not kept up to date (3.14 reuses the
/// field for watcher bits only).
fn version_tag(py: Python<'_>, dict: &Bound<'_, PyDict>) -> Option<u64> {
    static TAGGED: OnceLock<bool> = OnceLock::new();
    if !*TAGGED.get_or_init(|| py.version_info() < (3, 14)) {
        return None;
    }
    // PyDictObject starts with the object header and `ma_used`; `ma_version_tag` follows.
    let offset =
        std::mem::size_of::<pyo3::ffi::PyObject>() + std::mem::size_of::<pyo3::ffi::Py_ssize_t>();
    // SAFETY: `dict` is an exact or derived dict, whose C layout on these versions has the
    // u64 version tag at this offset; read with the GIL held, as CPython writes it.
    Some(unsafe { dict.as_ptr().cast::<u8>().add(offset).cast::<u64>().read() })
}

/// `dict_version(d)`: the dict's PEP 509 version tag, or None where the interpreter does not
/// keep one. Tags are unique across all dicts and all their states (each change, and each new
/// dict, draws the next value of one global counter), so an equal tag means the same dict,
/// unchanged. Key order changes that bypass the dict (`OrderedDict.move_to_end`) do not move
/// it.
#[pyfunction]
pub fn dict_version(py: Python<'_>, d: &Bound<'_, PyDict>) -> Option<u64> {
    version_tag(py, d)
}

/// `type_version(cls)`: CPython's version tag of a class (what its method cache is keyed
/// on), or None when it has no valid one right now. The interpreter gives the class a new
/// tag, drawn from one global counter, after any change to it or to a base class (setting
/// or deleting an attribute, `mock.patch` on a method), once an attribute is next looked up
/// on it: an equal tag means the same class, unchanged since.
#[pyfunction]
pub fn type_version(cls: &Bound<'_, PyType>) -> Option<u32> {
    let ty = cls.as_type_ptr();
    // SAFETY: `ty` is a live type object (borrowed for this call); both fields are plain
    // integers CPython updates with the GIL held, which we hold.
    let (tag, flags) = unsafe { ((*ty).tp_version_tag, (*ty).tp_flags) };
    // 0 is never a valid tag; 3.11 also clears a flag when it invalidates one.
    static FLAG_KEPT: OnceLock<bool> = OnceLock::new();
    let flag_kept = *FLAG_KEPT.get_or_init(|| cls.py().version_info() < (3, 12));
    let flagged = !flag_kept || flags & pyo3::ffi::Py_TPFLAGS_VALID_VERSION_TAG != 0;
    (tag != 0 && flagged).then_some(tag)
}

/// The raw values of some keys of CPython's byte-keyed environment store
/// (`os.environ._data`), as a tuple with None for a missing key. The tuple is built again
/// only when the store changed since the last call (its PEP 509 version tag moved), and is
/// otherwise the very same object, so callers can compare snapshots by identity first.
#[pyclass(frozen, module = "balrog._http")]
pub struct EnvironSnapshot {
    data: Py<PyDict>,
    keys: Py<PyTuple>,
    last: Mutex<Option<(u64, Py<PyTuple>)>>,
}

#[pymethods]
impl EnvironSnapshot {
    #[new]
    fn new(data: Bound<'_, PyDict>, keys: Bound<'_, PyTuple>) -> Self {
        EnvironSnapshot {
            data: data.unbind(),
            keys: keys.unbind(),
            last: Mutex::new(None),
        }
    }

    fn __call__(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        let data = self.data.bind(py);
        let version = version_tag(py, data);
        if let (Some(version), Some((seen, snapshot))) = (version, &*self.last.lock()) {
            if *seen == version {
                return Ok(snapshot.clone_ref(py));
            }
        }
        let mut values = Vec::with_capacity(self.keys.bind(py).len());
        for key in self.keys.bind(py).iter() {
            values.push(
                data.get_item(key)?
                    .unwrap_or_else(|| py.None().into_bound(py)),
            );
        }
        let snapshot = PyTuple::new(py, values)?.unbind();
        if let Some(version) = version {
            *self.last.lock() = Some((version, snapshot.clone_ref(py)));
        }
        Ok(snapshot)
    }
}

/// A directory's identity and change times: while they stay the same, no entry was added,
/// removed or renamed in it (each of those updates the mtime; chmod updates the ctime).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Signature {
    dev: u64,
    ino: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Signature {
    fn of(path: &Path) -> Option<Signature> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Signature {
            dev: meta.dev(),
            ino: meta.ino(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        })
    }
}

/// A directory changed less than this long ago may change again within the same timestamp
/// tick (file systems stamp with a coarse clock), so its times do not prove anything yet.
const RACY_NS: i128 = 2_000_000_000;

/// Some files of one directory that usually do not exist (the netrc candidates): whether
/// any of them exists, in one `stat` of the directory while nothing in it changes.
///
/// When none of them exists, not even as a dangling symlink, the directory's signature is
/// remembered; the same signature later means no entry was added, removed or renamed
/// since, so they still do not exist. A symlink is never cached (its target can appear
/// elsewhere), nor is a directory that changed very recently (see `RACY_NS`).
#[pyclass(frozen, module = "balrog._http")]
pub struct AbsentFiles {
    directory: PathBuf,
    paths: Vec<PathBuf>,
    /// The directory's signature when none of `paths` existed.
    absent_at: Mutex<Option<Signature>>,
}

#[pymethods]
impl AbsentFiles {
    #[new]
    fn new(directory: PathBuf, paths: Vec<PathBuf>) -> Self {
        AbsentFiles {
            directory,
            paths,
            absent_at: Mutex::new(None),
        }
    }

    /// `not any(map(os.path.exists, paths))`.
    fn none_exist(&self, py: Python<'_>) -> bool {
        // A stat can block on a network file system: not with the GIL held.
        py.allow_threads(|| {
            let signature = Signature::of(&self.directory);
            if signature.is_some() && *self.absent_at.lock() == signature {
                return true;
            }
            // In this order: an entry made after the directory's stat changes its times
            // again, so the signature taken first can only be too old, never too new.
            if self
                .paths
                .iter()
                .any(|path| std::fs::symlink_metadata(path).is_ok())
            {
                *self.absent_at.lock() = None;
                return !self
                    .paths
                    .iter()
                    .any(|path| std::fs::metadata(path).is_ok());
            }
            if let Some(signature) = signature {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |since| since.as_nanos() as i128);
                if now - signature.mtime_ns.max(signature.ctime_ns) > RACY_NS {
                    *self.absent_at.lock() = Some(signature);
                }
            }
            true
        })
    }
}
