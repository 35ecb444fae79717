//! `balrog._http`: the wire half of `balrog.requests`.
//!
//! Python owns requests' semantics (preparing requests, redirects, cookies, auth, hooks);
//! this module owns the network: connection pools, TLS, timeouts, content decoding and
//! body streaming. Every network call returns a `balrog_core::Op`, which Python waits for
//! with `balrog._bridge.wait` in the caller's mode (blocking or green).

mod body;
mod client;
mod connect_watch;
mod decode;
mod direct;
mod errors;
mod fast_hash;
mod tls;
mod upload;
mod watch;

use pyo3::prelude::*;

#[pymodule]
fn _http(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::Client>()?;
    m.add_class::<client::Headers>()?;
    m.add_class::<body::BodyStream>()?;
    m.add_class::<upload::Upload>()?;
    m.add_class::<watch::EnvironSnapshot>()?;
    m.add_class::<watch::AbsentFiles>()?;
    m.add_function(wrap_pyfunction!(watch::dict_version, m)?)?;
    m.add_function(wrap_pyfunction!(watch::type_version, m)?)?;
    Ok(())
}
