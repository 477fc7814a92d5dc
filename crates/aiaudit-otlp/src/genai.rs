//! The GenAI semantic conventions (and OpenInference's and OpenLLMetry's names for the same
//! things) onto an event's type, model and details.

use aiaudit_core::event::ModelRef;
use serde_json::{Map, Value};

/// What the GenAI attributes of one span or record say.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct GenAi {
    /// The event type, when the attributes decide it.
    pub kind: Option<&'static str>,
    /// The model asked for, with the snapshot that answered as its version.
    pub model: Option<ModelRef>,
    /// The provider or system.
    pub provider: Option<String>,
    /// `{input, output, total}`, each when known.
    pub tokens: Option<Map<String, Value>>,
}

fn text<'a>(a: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| a.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
}

fn count(a: &Map<String, Value>, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|k| match a.get(*k)? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

/// Whether the attributes are GenAI at all.
fn is_genai(a: &Map<String, Value>) -> bool {
    a.contains_key("openinference.span.kind")
        || a.contains_key("llm.model_name")
        || a.keys().any(|k| k.starts_with("gen_ai."))
}

/// The GenAI reading of `a`, or `None` when it holds no GenAI attribute.
pub(crate) fn read(a: &Map<String, Value>) -> Option<GenAi> {
    if !is_genai(a) {
        return None;
    }
    let requested = text(a, &["gen_ai.request.model"]);
    let answered = text(a, &["gen_ai.response.model"]);
    let model = match (requested, answered) {
        (Some(r), Some(s)) => Some(ModelRef {
            name: r.to_owned(),
            version: (r != s).then(|| s.to_owned()),
        }),
        (Some(m), None) | (None, Some(m)) => Some(ModelRef {
            name: m.to_owned(),
            version: None,
        }),
        (None, None) => text(a, &["llm.model_name", "embedding.model_name"]).map(|m| ModelRef {
            name: m.to_owned(),
            version: None,
        }),
    };
    let by_operation = text(a, &["gen_ai.operation.name"]).and_then(|op| match op {
        "chat" | "text_completion" | "generate_content" | "embeddings" => Some("model_inference"),
        "execute_tool" => Some("tool_call"),
        "invoke_agent" | "create_agent" => Some("agent_run"),
        _ => None,
    });
    let by_openinference =
        text(a, &["openinference.span.kind"]).and_then(|k| match k.to_ascii_uppercase().as_str() {
            "LLM" | "EMBEDDING" => Some("model_inference"),
            "TOOL" => Some("tool_call"),
            "RETRIEVER" | "RERANKER" => Some("retrieval"),
            "CHAIN" => Some("chain_run"),
            "AGENT" => Some("agent_run"),
            _ => None,
        });
    let kind = by_operation
        .or(by_openinference)
        .or(model.is_some().then_some("model_inference"));
    let input = count(
        a,
        &[
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        ],
    );
    let output = count(
        a,
        &[
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        ],
    );
    let total =
        count(a, &["llm.usage.total_tokens", "llm.token_count.total"]).or(match (input, output) {
            (Some(i), Some(o)) => i.checked_add(o),
            _ => None,
        });
    let mut tokens = Map::new();
    for (k, v) in [("input", input), ("output", output), ("total", total)] {
        // A count a double cannot hold exactly stays only where it came, in the attributes.
        if let Some(v) = v.filter(|v| *v <= 1 << 53) {
            tokens.insert(k.into(), Value::from(v));
        }
    }
    Some(GenAi {
        kind,
        model,
        provider: text(
            a,
            &[
                "gen_ai.provider.name",
                "gen_ai.system",
                "llm.provider",
                "llm.system",
            ],
        )
        .map(str::to_owned),
        tokens: (!tokens.is_empty()).then_some(tokens),
    })
}

impl GenAi {
    /// Puts the derived fields into `details`: only those that gather several conventions'
    /// names into one (the attributes themselves are kept as they came).
    pub(crate) fn into_details(self, details: &mut Map<String, Value>) {
        if let Some(p) = self.provider {
            details.insert("provider".into(), Value::String(p));
        }
        if let Some(t) = self.tokens {
            details.insert("tokens".into(), Value::Object(t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn conventions() {
        let g = read(&attrs(json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.provider.name": "openai",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 30,
        })))
        .expect("genai");
        assert_eq!(g.kind, Some("model_inference"));
        let m = g.model.as_ref().expect("model");
        assert_eq!(
            (m.name.as_str(), m.version.as_deref()),
            ("gpt-4o", Some("gpt-4o-2024-08-06"))
        );
        assert_eq!(
            g.tokens,
            Some(attrs(json!({"input": 12, "output": 30, "total": 42})))
        );
        assert_eq!(g.provider.as_deref(), Some("openai"));

        // OpenLLMetry's older names and OpenInference.
        let g = read(&attrs(json!({
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude",
            "gen_ai.response.model": "claude",
            "gen_ai.usage.prompt_tokens": 5,
        })))
        .expect("genai");
        assert_eq!(g.kind, Some("model_inference"));
        assert_eq!(g.model.and_then(|m| m.version), None);
        assert_eq!(g.tokens, Some(attrs(json!({"input": 5}))));
        let g = read(&attrs(json!({
            "openinference.span.kind": "RETRIEVER",
        })))
        .expect("openinference");
        assert_eq!((g.kind, g.model), (Some("retrieval"), None));
        let g = read(&attrs(json!({
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "search",
        })))
        .expect("tool");
        assert_eq!(g.kind, Some("tool_call"));
        assert!(read(&attrs(json!({"http.method": "GET"}))).is_none());
        // A GenAI span that names no model and no known operation decides no type.
        assert_eq!(
            read(&attrs(json!({"gen_ai.conversation.id": "c1"}))).and_then(|g| g.kind),
            None
        );
    }
}
