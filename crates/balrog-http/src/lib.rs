//! placeholder: replaced by the driver implementation
