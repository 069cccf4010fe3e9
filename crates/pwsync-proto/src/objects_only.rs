//! Request documents are JSON objects and nothing else. serde's derived `Deserialize` of a
//! struct also accepts a JSON array, field by field in declaration order, so `"identity":
//! [null, null]` or a change written as an array would pass although docs/api/openapi.yaml
//! (`type: object`) forbids it. `objects_only!` gives a struct derived with
//! `#[serde(remote = "Self")]` trait impls that accept an object only and then decode it with
//! the derived code (keys, defaults, `deny_unknown_fields` unchanged).
//!
//! It must never change what an object decodes to, nor how a value is serialized.

macro_rules! objects_only {
    ($($type:ident),* $(,)?) => {$(
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                // The inherent function made by `#[serde(remote = "Self")]`.
                $type::serialize(self, serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$type, D::Error> {
                struct ObjectVisitor;
                impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $type;

                    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                        formatter.write_str(concat!("a JSON object (", stringify!($type), ")"))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<$type, A::Error> {
                        $type::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    }
                }
                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    )*};
}

pub(crate) use objects_only;

#[cfg(test)]
mod tests {
    use crate::{ChangeBatch, ClientStatusReport, Identity, NoticeBatch};

    const CHANGE: &str = r#"{"id":"0123456789abcdef0123456789abcdef","domain":"corp.example","account":"alice","identity":{"mail":"alice@corp.example"},"password":"not-a-real-password","captured_at_ns":1,"origin":"dc1","origin_seq":0,"source":"pam"}"#;

    #[test]
    fn objects_decode_and_serialize_as_before() {
        let batch: ChangeBatch = serde_json::from_str(&format!(r#"{{"changes":[{CHANGE}]}}"#)).unwrap();
        assert_eq!(batch.changes[0].identity.mail.as_deref(), Some("alice@corp.example"));
        let json = serde_json::to_value(&batch.changes[0].identity).unwrap();
        assert_eq!(json, serde_json::json!({"mail": "alice@corp.example"}));
        let unknown = CHANGE.replace("\"origin\":", "\"x\":1,\"origin\":");
        assert!(serde_json::from_str::<ChangeBatch>(&format!(r#"{{"changes":[{unknown}]}}"#)).is_err());
    }

    #[test]
    fn arrays_in_place_of_objects_are_refused() {
        assert!(serde_json::from_str::<Identity>("[null, null]").is_err());
        let array_identity = CHANGE.replace(r#"{"mail":"alice@corp.example"}"#, "[null, null]");
        for body in [
            format!(r#"{{"changes":[{array_identity}]}}"#),
            r#"{"changes":[["0123456789abcdef0123456789abcdef","corp.example","alice",{},"p",1,"dc1",0,"pam"]]}"#.into(),
            format!(r#"[[{CHANGE}]]"#),
        ] {
            let refused = serde_json::from_str::<ChangeBatch>(&body).unwrap_err().to_string();
            assert!(refused.contains("expected a JSON object"), "{refused}");
        }
        assert!(serde_json::from_str::<NoticeBatch>(r#"[[]]"#).is_err());
        assert!(serde_json::from_str::<NoticeBatch>(r#"{"notices":[["0123456789abcdef0123456789abcdef","corp.example","a",1,"dc1","out_of_scope","r"]]}"#).is_err());
        assert!(serde_json::from_str::<ClientStatusReport>(r#"["0.1.0", 0, null, 0, []]"#).is_err());
    }
}
