//! `PgResult`: one statement's result. Rows stay raw until Python fetches them; decoding
//! happens on the caller's thread, a slice at a time.

use std::sync::Arc;

use parking_lot::Mutex;
use postgres_protocol::message::backend::DataRowBody;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::decode::{from_spec, Ctx, Dec, Styles};
use crate::errors::data_error;
use crate::proto::{Columns, ResultSet};
use crate::row_tuple::row_tuple;

struct Loaders {
    decs: Vec<Dec>,
    tz: PyObject,
    tz_is_utc: bool,
}

impl Loaders {
    fn from_specs(specs: &[Bound<'_, PyAny>], tz: PyObject, tz_is_utc: bool) -> PyResult<Self> {
        let mut decs = Vec::with_capacity(specs.len());
        for spec in specs {
            decs.push(from_spec(spec)?);
        }
        Ok(Loaders {
            decs,
            tz,
            tz_is_utc,
        })
    }
}

/// A column decoding set built once and shared by every result with the same row type
/// (`PgResult.use_loaders`): the cursor caches it with its loader choice, so a repeated
/// execute does not convert its loader specs again.
#[pyclass(frozen, module = "balrog._pg", name = "LoaderSet")]
pub struct LoaderSet {
    loaders: Arc<Loaders>,
}

#[pymethods]
impl LoaderSet {
    /// Same arguments as `PgResult.set_loaders`.
    #[new]
    fn new(specs: Vec<Bound<'_, PyAny>>, tz: PyObject, tz_is_utc: bool) -> PyResult<Self> {
        Ok(LoaderSet {
            loaders: Arc::new(Loaders::from_specs(&specs, tz, tz_is_utc)?),
        })
    }
}

/// Command tags after which the server's prepared statements may be gone or wrong: DISCARD,
/// DEALLOCATE, and (as psycopg judges) DROP, ALTER and ROLLBACK. A cheap first filter; the
/// Python prepare manager decides.
fn tag_drops_prepared(tag: Option<&str>) -> bool {
    tag.is_some_and(|t| {
        ["DISC", "DEAL", "DROP", "ALTE", "ROLL"]
            .iter()
            .any(|prefix| t.starts_with(prefix))
    })
}

#[pyclass(frozen, module = "balrog._pg", name = "PgResult")]
pub struct PgResult {
    status: u8,
    columns: Columns,
    rows: Vec<DataRowBody>,
    tag: Option<String>,
    copy_binary: bool,
    /// The rows are in binary format (asked for with `binary=True`: every column or none).
    binary: bool,
    /// DateStyle/IntervalStyle of the rows when not the defaults.
    styles: Option<Arc<Styles>>,
    loaders: Mutex<Option<Arc<Loaders>>>,
}

impl PgResult {
    pub fn new(set: ResultSet) -> Self {
        let columns = set.columns.unwrap_or_default();
        PgResult {
            status: set.status,
            binary: columns.first().is_some_and(|c| c.format == 1),
            columns,
            rows: set.rows,
            tag: set.tag,
            copy_binary: set.copy_binary,
            styles: set.styles,
            loaders: Mutex::new(None),
        }
    }

    /// The row description (shared).
    pub(crate) fn shared_columns(&self) -> Columns {
        self.columns.clone()
    }

    /// The rows are in binary format.
    pub(crate) fn is_binary(&self) -> bool {
        self.binary
    }

    /// Decode with `set` (as `use_loaders`).
    pub(crate) fn use_loader_set(&self, set: &LoaderSet) {
        *self.loaders.lock() = Some(set.loaders.clone());
    }

    fn loaders(&self, py: Python<'_>) -> PyResult<Arc<Loaders>> {
        match &*self.loaders.lock() {
            Some(l) => Ok(l.clone()),
            None => Err(data_error(py, "result loaders not set".into())),
        }
    }
}

/// Split a DataRow into its values (None for NULL).
fn values(row: &DataRowBody, count: usize) -> impl Iterator<Item = Option<&[u8]>> {
    let buf = row.buffer();
    let mut pos = 0usize;
    (0..count).map(move |_| {
        let len = buf
            .get(pos..pos + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(-1);
        pos += 4;
        if len < 0 {
            None
        } else {
            let end = (pos + len as usize).min(buf.len());
            let value = &buf[pos.min(end)..end];
            pos = end;
            Some(value)
        }
    })
}

impl PgResult {
    fn make_row<'py>(
        &self,
        ctx: &mut Ctx<'py>,
        decs: &[Dec],
        row: &DataRowBody,
        maker: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = ctx.py();
        let width = decs.len();
        let binary = self.binary;
        let tuple = row_tuple(
            py,
            width,
            values(row, width)
                .zip(decs.iter())
                .map(|(value, dec)| match value {
                    None => Ok(py.None().into_bound(py)),
                    Some(data) if binary => ctx.decode_binary(dec, data),
                    Some(data) => ctx.decode(dec, data),
                }),
        )?
        .into_any();
        match maker {
            None => Ok(tuple),
            Some(make) => make.call1((tuple,)),
        }
    }
}

/// Pauses the cyclic garbage collector while a batch of rows is built. Every row tuple
/// (and every dict/list a JSON value makes) is a new GC-tracked object, so building 100k
/// rows set off hundreds of collections that traverse the growing, cycle-free result
/// over and over (a third of a large fetch's time). Nothing a fetch makes is garbage;
/// the collector catches up (one pass over the new objects) after the fetch.
struct GcPause(bool);

impl GcPause {
    fn new(_py: Python<'_>) -> Self {
        // SAFETY: called with the GIL held (the token proves it).
        GcPause(unsafe { ffi::PyGC_Disable() } != 0)
    }
}

impl Drop for GcPause {
    fn drop(&mut self) {
        // Only re-enable what was enabled: a program that turned the GC off keeps it off.
        if self.0 {
            // SAFETY: dropped inside the fetch, still holding the GIL.
            unsafe { ffi::PyGC_Enable() };
        }
    }
}

/// Below this many rows a fetch leaves the GC alone (nothing to gain).
const GC_PAUSE_ROWS: usize = 64;

#[pymethods]
impl PgResult {
    /// psycopg's `pq.ExecStatus` value.
    #[getter]
    pub(crate) fn status(&self) -> u8 {
        self.status
    }

    /// For a COPY result: the data is in binary format.
    #[getter]
    fn copy_binary(&self) -> bool {
        self.copy_binary
    }

    #[getter]
    pub(crate) fn ntuples(&self) -> usize {
        self.rows.len()
    }

    #[getter]
    fn nfields(&self) -> usize {
        self.columns.len()
    }

    /// The CommandComplete tag, e.g. "INSERT 0 1".
    #[getter]
    fn command_status(&self) -> Option<String> {
        self.tag.clone()
    }

    /// The row count from the tag (None for commands that report none).
    #[getter]
    pub(crate) fn command_tuples(&self) -> Option<i64> {
        crate::proto::tag_tuples(self.tag.as_deref())
    }

    /// Whether the command may have dropped prepared statements (DISCARD, DEALLOCATE):
    /// then the cursor looks at `command_status`.
    #[getter]
    pub(crate) fn drops_prepared(&self) -> bool {
        tag_drops_prepared(self.tag.as_deref())
    }

    /// `(status, ntuples, command_tuples, type_oids(), drops_prepared, binary)` in one
    /// call: what a cursor reads when it moves to this result (each native call counts on
    /// a ~25 µs round trip).
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        (
            self.status,
            self.rows.len(),
            self.command_tuples(),
            self.type_oids(py)?,
            tag_drops_prepared(self.tag.as_deref()),
            self.binary,
        )
            .into_pyobject(py)
    }

    /// libpq's per-column accessors (`PQfformat`, `PQftype`, `PQfname`, `PQfmod`,
    /// `PQfsize`; `get_value` is below), for code that reads `cursor.pgresult` as psycopg's
    /// PGresult. None for a column number out of range (libpq answers an invalid value too).
    fn fformat(&self, column: usize) -> Option<i16> {
        self.columns.get(column).map(|c| c.format)
    }

    fn ftype(&self, column: usize) -> Option<u32> {
        self.columns.get(column).map(|c| c.type_oid)
    }

    fn fname<'py>(&self, py: Python<'py>, column: usize) -> Option<Bound<'py, PyBytes>> {
        self.columns
            .get(column)
            .map(|c| PyBytes::new(py, c.name.as_bytes()))
    }

    fn fmod(&self, column: usize) -> Option<i32> {
        self.columns.get(column).map(|c| c.type_modifier)
    }

    fn fsize(&self, column: usize) -> Option<i16> {
        self.columns.get(column).map(|c| c.type_size)
    }

    /// The columns' type oids, as a tuple (what loader choices are cached by).
    fn type_oids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.columns.iter().map(|c| c.type_oid))
    }

    /// (name, type_oid, type_modifier, type_size, table_oid, column_id, format) per column.
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self.columns.iter().map(|c| {
            (
                c.name.as_str(),
                c.type_oid,
                c.type_modifier,
                c.type_size,
                c.table_oid,
                c.column_id,
                c.format,
            )
        });
        PyList::new(py, items)
    }

    /// Set how each column is decoded: an oid (native decoder), a loader's `load`, or
    /// `("array", spec, delimiter)`; `tz` is the session time zone.
    fn set_loaders(
        &self,
        specs: Vec<Bound<'_, PyAny>>,
        tz: PyObject,
        tz_is_utc: bool,
    ) -> PyResult<()> {
        *self.loaders.lock() = Some(Arc::new(Loaders::from_specs(&specs, tz, tz_is_utc)?));
        Ok(())
    }

    /// Decode with a prebuilt `LoaderSet` (shared, not copied).
    fn use_loaders(&self, loaders: &Bound<'_, LoaderSet>) {
        *self.loaders.lock() = Some(loaders.get().loaders.clone());
    }

    /// Rows `start..stop` as a list, each built by `maker(tuple)` (or a plain tuple).
    /// `stop` None: to the last row.
    #[pyo3(signature = (start, stop, maker=None))]
    fn fetch<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        stop: Option<usize>,
        maker: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let loaders = self.loaders(py)?;
        let stop = stop.map_or(self.rows.len(), |stop| stop.min(self.rows.len()));
        let start = start.min(stop);
        let tz = loaders.tz.bind(py);
        let mut ctx = Ctx::new(py, tz, loaders.tz_is_utc)?;
        ctx.set_styles(self.styles.clone());
        let rows = &self.rows[start..stop];
        let _pause = (rows.len() >= GC_PAUSE_ROWS).then(|| GcPause::new(py));
        // SAFETY: PyList_New returns a new reference or NULL (turned into the error).
        let list = unsafe {
            Bound::from_owned_ptr_or_err(py, ffi::PyList_New(rows.len() as ffi::Py_ssize_t))?
                .downcast_into_unchecked::<PyList>()
        };
        for (i, row) in rows.iter().enumerate() {
            let item = self.make_row(&mut ctx, &loaders.decs, row, maker.as_ref())?;
            // SAFETY: i < len; SET_ITEM steals the reference into an empty slot. A list
            // dropped half-filled on error is fine (list_dealloc skips NULL slots).
            unsafe { ffi::PyList_SET_ITEM(list.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr()) };
        }
        Ok(list)
    }

    /// One row, or None past the end.
    #[pyo3(signature = (index, maker=None))]
    fn fetch_one<'py>(
        &self,
        py: Python<'py>,
        index: usize,
        maker: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(row) = self.rows.get(index) else {
            return Ok(None);
        };
        let loaders = self.loaders(py)?;
        let tz = loaders.tz.bind(py);
        let mut ctx = Ctx::new(py, tz, loaders.tz_is_utc)?;
        ctx.set_styles(self.styles.clone());
        self.make_row(&mut ctx, &loaders.decs, row, maker.as_ref())
            .map(Some)
    }

    /// Rows `start..stop` as a result of their own (sharing the rows' buffers and the
    /// loaders): what `cursor.pgresult` shows while `stream()` is inside a chunk.
    fn slice(&self, start: usize, stop: usize) -> PgResult {
        let stop = stop.min(self.rows.len());
        let start = start.min(stop);
        PgResult {
            status: self.status,
            columns: self.columns.clone(),
            rows: self.rows[start..stop].to_vec(),
            tag: self.tag.clone(),
            copy_binary: self.copy_binary,
            binary: self.binary,
            styles: self.styles.clone(),
            loaders: Mutex::new(self.loaders.lock().clone()),
        }
    }

    /// A raw value (in the result's format), or None for NULL.
    fn get_value<'py>(
        &self,
        py: Python<'py>,
        row: usize,
        column: usize,
    ) -> Option<Bound<'py, PyBytes>> {
        let r = self.rows.get(row)?;
        values(r, self.columns.len())
            .nth(column)
            .flatten()
            .map(|v| PyBytes::new(py, v))
    }
}
