//! Typed constructors for the event types of the schema. Each returns an [`Event`] with its type,
//! a readable name and the key facts as details; add more with the builder methods and log it
//! with [`crate::AuditLogger::log`].

use aiaudit_core::event::types;
use aiaudit_core::{Event, ModelRef, Status};
use serde_json::Value;

/// A model prediction: model and version, the acting user, output and latency.
pub fn inference(model: &str, version: &str, user: &str, output: Value, latency_ms: f64) -> Event {
    Event::new(types::MODEL_INFERENCE, format!("{model} prediction"))
        .model(model, version)
        .user(user)
        .detail("output", output)
        .detail("latency_ms", latency_ms)
}

/// A training run: parameters and the resulting metrics.
pub fn training(model: &str, version: &str, parameters: Value, metrics: Value) -> Event {
    Event::new(types::MODEL_TRAINING, format!("Trained {model} {version}"))
        .model(model, version)
        .detail("parameters", parameters)
        .detail("metrics", metrics)
}

/// Data read from a dataset (a path, table or URI), with how many records.
pub fn data_access(dataset: &str, records: u64, purpose: &str) -> Event {
    Event::new(types::DATA_ACCESS, format!("Read {dataset}"))
        .detail("dataset", dataset)
        .detail("records", records)
        .detail("purpose", purpose)
}

/// A transformation from input to output datasets.
pub fn transformation(name: &str, inputs: &[&str], outputs: &[&str]) -> Event {
    Event::new(types::DATA_TRANSFORMATION, name.to_owned())
        .detail(
            "inputs",
            inputs.iter().map(|s| Value::from(*s)).collect::<Vec<_>>(),
        )
        .detail(
            "outputs",
            outputs.iter().map(|s| Value::from(*s)).collect::<Vec<_>>(),
        )
}

/// An evaluation of a model on a dataset, with its metrics.
pub fn evaluation(model: &str, version: &str, dataset: &str, metrics: Value) -> Event {
    Event::new(
        types::EVALUATION,
        format!("Evaluated {model} {version} on {dataset}"),
    )
    .model(model, version)
    .detail("dataset", dataset)
    .detail("metrics", metrics)
}

/// A model deployed to an environment.
pub fn deployment(model: &str, version: &str, environment: &str) -> Event {
    Event::new(
        types::DEPLOYMENT,
        format!("Deployed {model} {version} to {environment}"),
    )
    .model(model, version)
    .detail("environment", environment)
}

/// Drift measured on a feature; WARNING when `score` exceeds `threshold`, INFO otherwise.
pub fn drift(model: &str, feature: &str, score: f64, threshold: f64) -> Event {
    let drifted = score > threshold;
    let mut e = Event::new(
        types::DRIFT,
        if drifted {
            format!("Drift detected on {feature}")
        } else {
            format!("No drift on {feature}")
        },
    )
    .status(if drifted {
        Status::Warning
    } else {
        Status::Info
    })
    .detail("feature", feature)
    .detail("drift_score", score)
    .detail("threshold", threshold);
    e.model = Some(ModelRef {
        name: model.to_owned(),
        version: None,
    });
    e
}

/// A compliance check against a regulation; WARNING when it did not pass.
pub fn compliance_check(regulation: &str, check: &str, passed: bool) -> Event {
    let mut e = Event::new(types::COMPLIANCE_CHECK, format!("{regulation}: {check}"))
        .status(if passed {
            Status::Info
        } else {
            Status::Warning
        })
        .detail("check", check)
        .detail("passed", passed);
    e.regulations.push(regulation.to_owned());
    e
}

/// A request by a user (or system) for something.
pub fn user_request(user: &str, request: &str) -> Event {
    Event::new(types::USER_REQUEST, request.to_owned()).user(user)
}

/// A failure: ERROR status with the error message.
pub fn error(name: &str, error: &str) -> Event {
    Event::new(types::ERROR, name.to_owned())
        .status(Status::Error)
        .detail("error", error)
}

/// Adds a prediction's input to `event`: always `details.input_hash`, the SHA-256 (hex) of the
/// input's RFC 8785 canonical JSON, which is indexed (so "what did the model predict for this
/// exact input before?" is one query); and the input itself under `details.input` unless
/// `hash_only`. Fails only for an input JSON cannot keep exactly (a huge integer).
pub fn with_input(event: Event, input: Value, hash_only: bool) -> aiaudit_core::Result<Event> {
    let bytes = aiaudit_core::canonical::to_vec(&input)?;
    let hash: String = aiaudit_core::sha256(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let event = event.detail(aiaudit_core::store::indexed::INPUT_HASH, hash);
    Ok(if hash_only {
        event
    } else {
        event.detail("input", input)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_are_hashed_canonically() {
        let a = with_input(
            Event::new("model_inference", "p"),
            json!({"b": 1, "a": [1.0, "x"]}),
            true,
        )
        .expect("hash");
        let b = with_input(
            Event::new("model_inference", "p"),
            json!({"a": [1, "x"], "b": 1}),
            false,
        )
        .expect("hash");
        assert_eq!(a.details["input_hash"], b.details["input_hash"]);
        assert!(a.details.get("input").is_none());
        assert_eq!(b.details["input"], json!({"a": [1, "x"], "b": 1}));
        assert_eq!(a.details["input_hash"].as_str().map(str::len), Some(64));
    }
}
