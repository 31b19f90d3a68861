//! Decoding the backend's JSON into the wire types: `serde_json` parses the text into a
//! [`Value`], and each type reads its fields from that with [`FromJson`] (derived).
//!
//! Why not `#[derive(Deserialize)]`: the derived visitors (field identifiers, map and sequence
//! visitors, the `Value` deserializer behind them) were about 90 KB of the wasm for ~55 types;
//! reading a `Value` field by field is a few hundred bytes per type. The rules are the ones the
//! derive had with `#[serde(default)]`: unknown members are ignored, a missing member or a
//! `null` one takes the field's default, and a member of the wrong type fails the whole
//! payload with an error that names it.

use std::fmt;

use serde_json::{Map, Value};

/// A payload that is not what its type expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Where, as a dotted path of member names and indexes (empty: the payload itself).
    pub path: String,
    /// What was wrong.
    pub what: String,
}

impl JsonError {
    /// `expected` a kind of value, found `v`.
    pub fn expected(expected: &str, v: &Value) -> JsonError {
        let found = match v {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
        };
        JsonError {
            path: String::new(),
            what: format!("expected {expected}, found {found}"),
        }
    }

    /// The same error, one level further out (`key` contains the place it happened).
    pub fn at(mut self, key: &str) -> JsonError {
        self.path = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{key}.{}", self.path)
        };
        self
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.what)
        } else {
            write!(f, "`{}`: {}", self.path, self.what)
        }
    }
}

impl std::error::Error for JsonError {}

impl From<serde_json::Error> for JsonError {
    fn from(e: serde_json::Error) -> JsonError {
        JsonError {
            path: String::new(),
            what: e.to_string(),
        }
    }
}

/// `#[derive(FromJson)]` (crate `pane-json-derive`): reads every field with [`field`] under its
/// wire name — the `rename` of its `#[serde(rename = "…")]`, else its own name — so a wire
/// struct lists its fields once (a field the derive could not read is a compile error).
pub use pane_json_derive::FromJson;

/// A type read from a JSON value.
pub trait FromJson: Sized {
    fn from_json(v: &Value) -> Result<Self, JsonError>;
}

/// Decodes JSON text into `T`.
pub fn from_json<T: FromJson>(text: &str) -> Result<T, JsonError> {
    T::from_json(&serde_json::from_str::<Value>(text)?)
}

/// The members of an object (`what` names the type for the error).
pub fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, JsonError> {
    v.as_object()
        .ok_or_else(|| JsonError::expected(&format!("an object ({what})"), v))
}

/// Member `key` of `m`: its default when absent or `null`.
pub fn field<T: FromJson + Default>(m: &Map<String, Value>, key: &str) -> Result<T, JsonError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => T::from_json(v).map_err(|e| e.at(key)),
    }
}

impl FromJson for Value {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        Ok(v.clone())
    }
}

impl FromJson for Map<String, Value> {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        object(v, "a map").cloned()
    }
}

impl FromJson for String {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| JsonError::expected("a string", v))
    }
}

impl FromJson for bool {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        v.as_bool()
            .ok_or_else(|| JsonError::expected("a boolean", v))
    }
}

impl FromJson for f64 {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        v.as_f64().ok_or_else(|| JsonError::expected("a number", v))
    }
}

impl FromJson for i64 {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        // An integral float (`3.0`, as Python's JSON may write) is the integer it names.
        v.as_i64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| JsonError::expected("an integer", v))
    }
}

impl FromJson for u64 {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        i64::from_json(v).and_then(|i| {
            u64::try_from(i).map_err(|_| JsonError::expected("a count (0 or more)", v))
        })
    }
}

impl FromJson for u32 {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        i64::from_json(v).and_then(|i| {
            u32::try_from(i).map_err(|_| JsonError::expected("a small count (0 or more)", v))
        })
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        match v {
            Value::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
}

/// A large payload kept behind a pointer (a smaller event enum).
impl<T: FromJson> FromJson for Box<T> {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        T::from_json(v).map(Box::new)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        let items = v
            .as_array()
            .ok_or_else(|| JsonError::expected("a list", v))?;
        items
            .iter()
            .enumerate()
            .map(|(i, x)| T::from_json(x).map_err(|e| e.at(&i.to_string())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, FromJson)]
    struct T {
        a: String,
        b: Option<u64>,
        #[serde(rename = "type")]
        kind: Vec<bool>,
    }

    #[test]
    fn absent_and_null_members_take_defaults_and_unknown_ones_are_ignored() {
        assert_eq!(
            from_json::<T>(r#"{"a":"x","b":null,"zzz":[1]}"#).unwrap(),
            T {
                a: "x".into(),
                ..T::default()
            }
        );
        assert_eq!(
            from_json::<T>(r#"{"b":3.0,"type":[true]}"#).unwrap(),
            T {
                b: Some(3),
                kind: vec![true],
                ..T::default()
            }
        );
    }

    #[test]
    fn a_member_of_the_wrong_type_fails_the_payload_and_is_named() {
        let e = from_json::<T>(r#"{"type":[true,"no"]}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`type.1`: expected a boolean, found a string"
        );
        assert!(from_json::<T>(r#"{"b":-1}"#).is_err());
        assert!(from_json::<T>(r#"{"b":1.5}"#).is_err());
        assert!(from_json::<T>("[]")
            .unwrap_err()
            .to_string()
            .contains("expected an object"));
        assert!(from_json::<T>("{oops").is_err());
    }
}
