//! Whole numbers in JSON: JSON Schema counts `3.0` as an integer, so a client generated
//! from the OpenAPI document may send it where an integer is due. Kickin takes it as `3`.

use serde_json::Value;

/// The largest magnitude an `f64` holds every integer up to (2^53).
const EXACT_F64: f64 = 9_007_199_254_740_992.0;

/// Turns every whole `f64` number in `value` into an integer, in place.
pub fn normalize(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT_F64)
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Object(members) => members.values_mut().for_each(normalize),
        _ => {}
    }
}

/// A JSON integer, or a whole number written with a fraction (`3.0`).
pub fn whole(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT_F64)
            .map(|f| f as i64)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn whole_numbers_with_a_fraction_become_integers_and_others_stay() {
        let mut v = json!({"a": 334.0, "b": [1.5, -2.0, 7], "c": {"d": 1e300}, "e": "3.0"});
        normalize(&mut v);
        assert_eq!(
            v,
            json!({"a": 334, "b": [1.5, -2, 7], "c": {"d": 1e300}, "e": "3.0"})
        );
        assert!(v["a"].is_i64());
        assert_eq!(whole(&json!(12.0)), Some(12));
        assert_eq!(whole(&json!(12.5)), None);
        assert_eq!(whole(&json!("12")), None);
    }
}
