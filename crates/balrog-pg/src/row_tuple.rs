//! Row tuples filled in place: what query results and both COPY row parsers build a row with.
//!
//! `PyTuple::new` would first gather the values in a `Vec`; a row is built once per row of
//! every fetch, so the tuple is made at its width and each value is moved into its slot.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::data_error;

/// A tuple of `width` values from `values` (extra values are ignored). The first error
/// among the values is returned, and a tuple dropped half filled is safe: CPython skips
/// its empty slots. Fewer values than `width` is a DataError, never a tuple with holes.
pub fn row_tuple<'py>(
    py: Python<'py>,
    width: usize,
    values: impl IntoIterator<Item = PyResult<Bound<'py, PyAny>>>,
) -> PyResult<Bound<'py, PyTuple>> {
    // SAFETY: PyTuple_New returns a new reference or NULL (turned into the error).
    let tuple =
        unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(width as ffi::Py_ssize_t))? };
    let mut filled = 0;
    for value in values.into_iter().take(width) {
        // SAFETY: filled < width (take); SET_ITEM steals the reference into an empty slot.
        unsafe {
            ffi::PyTuple_SET_ITEM(tuple.as_ptr(), filled as ffi::Py_ssize_t, value?.into_ptr())
        };
        filled += 1;
    }
    if filled < width {
        return Err(data_error(
            py,
            format!("a row had {filled} values for {width} columns"),
        ));
    }
    // SAFETY: a tuple made above, every slot set.
    Ok(unsafe { tuple.downcast_into_unchecked::<PyTuple>() })
}
