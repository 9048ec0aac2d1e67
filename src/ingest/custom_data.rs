//! `custom_data`: Meta's standard parameters are type-checked (GA4 reads value,
//! currency, order id and contents from them); other members pass through as sent.

use serde_json::{Map, Value};

use super::event::{Fields, Rejection};

const MAX_MEMBERS: usize = 100;
const MAX_CONTENTS: usize = 200;

pub(super) fn parse(f: &Fields) -> Result<Map<String, Value>, Rejection> {
    if f.obj.len() > MAX_MEMBERS {
        let message = format!("custom_data takes at most {MAX_MEMBERS} members");
        return Err(Rejection {
            code: "invalid_field",
            message,
            field: f.path.clone(),
        });
    }
    if let Some(value) = f.obj.get("value").filter(|v| !v.is_null())
        && !value.as_f64().is_some_and(|v| v.is_finite() && v >= 0.0)
    {
        return Err(f.invalid("value", "value must be a number, zero or more"));
    }
    if let Some(currency) = f.string("currency", 3)?
        && (currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()))
    {
        return Err(f.invalid("currency", "currency must be a 3-letter ISO 4217 code"));
    }
    f.string("order_id", 256)?;
    f.string("content_type", 32)?;
    if f.integer("num_items")?.is_some_and(|n| n < 0) {
        return Err(f.invalid("num_items", "num_items must be zero or more"));
    }
    check_content_ids(f)?;
    check_contents(f)?;
    Ok(f.obj.clone())
}

fn check_content_ids(f: &Fields) -> Result<(), Rejection> {
    match f.obj.get("content_ids") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(ids))
            if ids.len() <= MAX_CONTENTS && ids.iter().all(Value::is_string) =>
        {
            Ok(())
        }
        Some(_) => Err(f.invalid(
            "content_ids",
            format!("content_ids must be an array of at most {MAX_CONTENTS} strings"),
        )),
    }
}

fn check_contents(f: &Fields) -> Result<(), Rejection> {
    let items = match f.obj.get("contents") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(items)) if items.len() <= MAX_CONTENTS => items,
        Some(_) => {
            return Err(f.invalid(
                "contents",
                format!("contents must be an array of at most {MAX_CONTENTS} items"),
            ));
        }
    };
    for (i, item) in items.iter().enumerate() {
        let path = format!("contents[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| f.invalid(&path, format!("{path} must be an object")))?;
        let item = Fields {
            obj,
            path: f.path(&path),
        };
        if item.string("id", 256)?.is_none() {
            return Err(item.reject("id", "missing_field", "each content needs an id"));
        }
        if item.integer("quantity")?.is_some_and(|q| q < 0) {
            return Err(item.invalid("quantity", "quantity must be zero or more"));
        }
        if let Some(price) = obj.get("item_price").filter(|v| !v.is_null())
            && !price.as_f64().is_some_and(f64::is_finite)
        {
            return Err(item.invalid("item_price", "item_price must be a number"));
        }
    }
    Ok(())
}
