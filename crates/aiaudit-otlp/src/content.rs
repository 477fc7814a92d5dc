//! Which attributes hold prompt and completion content, and the hash that stands for them.

use serde_json::Value;

/// Attribute keys that are content wherever they appear.
const CONTENT_KEYS: [&str; 22] = [
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "input.value",
    "output.value",
    "reranker.query",
    "gen_ai.event.content",
    "llm.prompt_template.variables",
    "llm.function_call",
    "traceloop.entity.input",
    "traceloop.entity.output",
    // The flattened prefixes' lists, when sent unflattened.
    "llm.prompts",
    "llm.input_messages",
    "llm.output_messages",
    "llm.choices",
    "llm.completions",
    "retrieval.documents",
    "embedding.embeddings",
];

/// Keys that are content in the attributes of a GenAI message event (a span event or log
/// record named `gen_ai.*`, other than the inference details event).
const MESSAGE_KEYS: [&str; 3] = ["content", "message", "gen_ai.event.content"];

/// The GenAI event that carries an inference's details rather than one message's content.
pub(crate) const INFERENCE_DETAILS: &str = "gen_ai.client.inference.operation.details";

/// Whether an event (span event or log record) named `name` carries one message's content.
pub(crate) fn is_message_event(name: &str) -> bool {
    name.starts_with("gen_ai.") && name != INFERENCE_DETAILS
}

/// Whether `key` is content in the attributes of a GenAI message event.
pub fn is_message_key(key: &str) -> bool {
    MESSAGE_KEYS.contains(&key) || is_content_key(key)
}

/// Flattened prefixes (OpenLLMetry, OpenInference) under which a key whose last segment is
/// `content`, `text`, `arguments` or a number is content.
const CONTENT_PREFIXES: [&str; 11] = [
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.prompts.",
    "retrieval.documents.",
    "reranker.input_documents.",
    "reranker.output_documents.",
    "embedding.embeddings.",
    "llm.choices.",
    "llm.completions.",
];

/// Whether the attribute `key` holds prompt or completion content (docs/format.md §6, "Content
/// is a hash by default"). A role, a name or an id under the same prefixes is not content.
pub fn is_content_key(key: &str) -> bool {
    if CONTENT_KEYS.contains(&key) {
        return true;
    }
    let Some(prefix) = CONTENT_PREFIXES.iter().find(|p| key.starts_with(**p)) else {
        return false;
    };
    let last = key[prefix.len()..].rsplit('.').next().unwrap_or("");
    matches!(last, "content" | "text" | "arguments")
        || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

/// `"sha256:<64 hex>"`: SHA-256 of the value's RFC 8785 canonical JSON, the form content takes
/// in the log unless it is kept.
pub fn content_hash(v: &Value) -> String {
    // Canonical JSON fails only for numbers it cannot write, which `value` never makes.
    let bytes = aiaudit_core::canonical::to_vec(v).unwrap_or_else(|_| v.to_string().into_bytes());
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    out.push_str(&hex::encode(aiaudit_core::sha256(&bytes)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_and_not() {
        for k in [
            "gen_ai.input.messages",
            "gen_ai.prompt.0.content",
            "gen_ai.completion.1.tool_calls.0.arguments",
            "llm.input_messages.0.message.content",
            "llm.output_messages.0.message.contents.1.message_content.text",
            "llm.prompts.3",
            "retrieval.documents.2.document.content",
            "reranker.query",
            "input.value",
            "llm.prompts",
            "llm.choices.0.completion.text",
            "llm.completions.1.content",
            "traceloop.entity.input",
        ] {
            assert!(is_content_key(k), "{k}");
        }
        for k in [
            "gen_ai.prompt.0.role",
            "llm.input_messages.0.message.role",
            "gen_ai.request.model",
            "gen_ai.completion.0.finish_reason",
            "retrieval.documents.2.document.id",
            "input.mime_type",
            "llm.choices.0.completion.finish_reason",
            "http.request.method",
        ] {
            assert!(!is_content_key(k), "{k}");
        }
    }

    #[test]
    fn hash_is_of_canonical_json() {
        let h = content_hash(&Value::String("hello".into()));
        // sha256 of the 7 bytes "\"hello\"".
        assert_eq!(
            h,
            "sha256:5aa762ae383fbb727af3c7a36d4940a5b8c40a989452d2304fc958ff3f354e7a"
        );
    }
}
