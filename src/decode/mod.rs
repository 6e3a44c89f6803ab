//! `loads`: the parser (issue 4). Until it lands, `rjson.loads` is the standard library's.

use pyo3::prelude::*;

pub fn register(_module: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
