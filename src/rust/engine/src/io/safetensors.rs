//! The safetensors format for named f32 tensors
//! (<https://github.com/huggingface/safetensors>): an 8-byte little-endian
//! header length, a JSON header, then the raw little-endian data.
//!
//! The header maps each tensor name to `{"dtype", "shape", "data_offsets":
//! [begin, end]}` with offsets relative to the start of the data, and may
//! hold string pairs under `"__metadata__"`. The writer pads the header with
//! spaces to a multiple of 8 bytes so the data is aligned, as the reference
//! implementation does, and lays the tensors out in the order given. The
//! reader checks that the tensors cover the data exactly, without gaps or
//! overlaps, as the format requires.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Largest header the reader accepts, as in the reference implementation.
const MAX_HEADER_LEN: u64 = 100_000_000;

/// A tensor to write: its name, shape and row-major values.
pub struct TensorRef<'a> {
    pub name: String,
    pub shape: &'a [usize],
    pub values: &'a [f32],
}

/// A tensor read from a file: shape and data, decoded on request.
#[derive(Debug, Clone)]
pub struct TensorView<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    bytes: &'a [u8],
}

impl TensorView<'_> {
    /// Decodes the little-endian f32 values.
    pub fn to_vec(&self) -> Vec<f32> {
        self.bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
}

/// The content of a safetensors file, in the order of the data.
#[derive(Debug)]
pub struct SafeTensors<'a> {
    pub metadata: Vec<(String, String)>,
    pub tensors: Vec<TensorView<'a>>,
}

impl<'a> SafeTensors<'a> {
    pub fn get(&self, name: &str) -> Option<&TensorView<'a>> {
        self.tensors.iter().find(|t| t.name == name)
    }

    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Encodes the JSON header, padded with spaces to a multiple of 8 bytes.
fn header_json(tensors: &[TensorRef], metadata: &[(String, String)]) -> Result<Vec<u8>> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        let meta: Map<String, Value> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        header.insert("__metadata__".into(), Value::Object(meta));
    }
    let mut offset = 0usize;
    for t in tensors {
        let len = t.values.len() * 4;
        if t.shape.iter().product::<usize>() != t.values.len() {
            return Err(Error::File(format!(
                "internal error: tensor \"{}\" has {} values but shape {:?}",
                t.name,
                t.values.len(),
                t.shape
            )));
        }
        let mut entry = Map::new();
        entry.insert("dtype".into(), Value::from("F32"));
        entry.insert("shape".into(), Value::from(t.shape.to_vec()));
        entry.insert(
            "data_offsets".into(),
            Value::from(vec![offset, offset + len]),
        );
        if header
            .insert(t.name.clone(), Value::Object(entry))
            .is_some()
        {
            return Err(Error::File(format!(
                "internal error: two tensors are named \"{}\"",
                t.name
            )));
        }
        offset += len;
    }
    let mut json = serde_json::to_vec(&Value::Object(header))
        .map_err(|e| Error::File(format!("cannot encode the safetensors header: {e}")))?;
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    Ok(json)
}

/// Returns the size in bytes of the safetensors data for `tensors`.
pub fn encoded_len(tensors: &[TensorRef], metadata: &[(String, String)]) -> Result<usize> {
    let header = header_json(tensors, metadata)?;
    Ok(8 + header.len() + tensors.iter().map(|t| t.values.len() * 4).sum::<usize>())
}

/// Appends the safetensors encoding of `tensors` to `out`.
pub fn write_into(
    out: &mut Vec<u8>,
    tensors: &[TensorRef],
    metadata: &[(String, String)],
) -> Result<()> {
    let header = header_json(tensors, metadata)?;
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    for t in tensors {
        if cfg!(target_endian = "little") {
            // SAFETY: f32 has no padding and any byte pattern is a valid u8;
            // on a little-endian target the bytes are already in file order.
            let bytes = unsafe {
                std::slice::from_raw_parts(t.values.as_ptr() as *const u8, t.values.len() * 4)
            };
            out.extend_from_slice(bytes);
        } else {
            for v in t.values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    Ok(())
}

/// Returns the safetensors encoding of `tensors`.
pub fn write(tensors: &[TensorRef], metadata: &[(String, String)]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(encoded_len(tensors, metadata)?);
    write_into(&mut out, tensors, metadata)?;
    Ok(out)
}

fn invalid(problem: &str) -> Error {
    Error::File(format!("the safetensors data is invalid: {problem}"))
}

/// Parses a safetensors file; the tensors borrow their bytes from `data`.
pub fn read(data: &[u8]) -> Result<SafeTensors<'_>> {
    if data.len() < 8 {
        return Err(invalid("it is shorter than the 8-byte header length"));
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&data[..8]);
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > MAX_HEADER_LEN || header_len > (data.len() - 8) as u64 {
        return Err(invalid(&format!(
            "the header length is {header_len} bytes but the data has {} bytes after it",
            data.len() - 8
        )));
    }
    let header_end = 8 + header_len as usize;
    let header: Value = serde_json::from_slice(&data[8..header_end])
        .map_err(|e| invalid(&format!("the header is not valid JSON ({e})")))?;
    let Value::Object(header) = header else {
        return Err(invalid("the header is not a JSON object"));
    };
    let buffer = &data[header_end..];

    let mut metadata = Vec::new();
    let mut tensors = Vec::new();
    let mut ranges = Vec::new();
    for (name, entry) in &header {
        if name == "__metadata__" {
            let Value::Object(meta) = entry else {
                return Err(invalid("\"__metadata__\" is not a JSON object"));
            };
            for (k, v) in meta {
                let Value::String(v) = v else {
                    return Err(invalid(&format!("metadata \"{k}\" is not a string")));
                };
                metadata.push((k.clone(), v.clone()));
            }
            continue;
        }
        let field = |key: &str| {
            entry
                .get(key)
                .ok_or_else(|| invalid(&format!("tensor \"{name}\" has no \"{key}\"")))
        };
        let dtype = field("dtype")?.as_str().unwrap_or("");
        if dtype != "F32" {
            return Err(Error::File(format!(
                "tensor \"{name}\" has dtype \"{dtype}\"; kerust reads only F32 tensors"
            )));
        }
        let shape = usize_array(field("shape")?).ok_or_else(|| {
            invalid(&format!(
                "the shape of tensor \"{name}\" is not a list of sizes"
            ))
        })?;
        let offsets = usize_array(field("data_offsets")?)
            .filter(|o| o.len() == 2 && o[0] <= o[1])
            .ok_or_else(|| {
                invalid(&format!(
                    "the data offsets of tensor \"{name}\" are not two increasing numbers"
                ))
            })?;
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|n| n.checked_mul(4));
        if count != Some(offsets[1] - offsets[0]) {
            return Err(invalid(&format!(
                "tensor \"{name}\" has shape {shape:?} but {} bytes of data",
                offsets[1] - offsets[0]
            )));
        }
        ranges.push((offsets[0], offsets[1], tensors.len()));
        tensors.push((name.clone(), shape));
    }

    // The tensors must tile the data exactly.
    ranges.sort();
    let mut expected = 0usize;
    for &(begin, end, i) in &ranges {
        if begin != expected {
            return Err(invalid(&format!(
                "tensor \"{}\" starts at byte {begin} of the data, expected {expected}",
                tensors[i].0
            )));
        }
        expected = end;
    }
    if expected != buffer.len() {
        return Err(invalid(&format!(
            "the tensors cover {expected} bytes but the data has {} bytes",
            buffer.len()
        )));
    }
    let views = ranges
        .iter()
        .map(|&(begin, end, i)| TensorView {
            name: tensors[i].0.clone(),
            shape: tensors[i].1.clone(),
            bytes: &buffer[begin..end],
        })
        .collect();
    Ok(SafeTensors {
        metadata,
        tensors: views,
    })
}

fn usize_array(v: &Value) -> Option<Vec<usize>> {
    v.as_array()?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let kernel = [1.0f32, -2.5, 3.25, 0.0, f32::MIN_POSITIVE, -0.0];
        let bias = [0.5f32, 1e-30];
        let tensors = [
            TensorRef {
                name: "layers/dense/vars/0".into(),
                shape: &[3, 2],
                values: &kernel,
            },
            TensorRef {
                name: "layers/dense/vars/1".into(),
                shape: &[2],
                values: &bias,
            },
        ];
        write(&tensors, &[("format_version".into(), "1".into())]).unwrap()
    }

    #[test]
    fn tensors_round_trip_bitwise() {
        let bytes = sample();
        let st = read(&bytes).unwrap();
        assert_eq!(st.metadata("format_version"), Some("1"));
        assert_eq!(st.tensors.len(), 2);
        let k = st.get("layers/dense/vars/0").unwrap();
        assert_eq!(k.shape, vec![3, 2]);
        let got: Vec<u32> = k.to_vec().iter().map(|v| v.to_bits()).collect();
        let want: Vec<u32> = [1.0f32, -2.5, 3.25, 0.0, f32::MIN_POSITIVE, -0.0]
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(got, want);
        assert_eq!(
            st.get("layers/dense/vars/1").unwrap().to_vec(),
            vec![0.5, 1e-30]
        );
    }

    #[test]
    fn layout_follows_the_format() {
        let bytes = sample();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0, "the header is padded to 8 bytes");
        let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        assert_eq!(header["layers/dense/vars/0"]["dtype"], "F32");
        assert_eq!(
            header["layers/dense/vars/0"]["data_offsets"],
            serde_json::json!([0, 24])
        );
        assert_eq!(
            header["layers/dense/vars/1"]["data_offsets"],
            serde_json::json!([24, 32])
        );
        assert_eq!(bytes.len(), 8 + n + 32);
        // Data is little-endian: 1.0f32 is 00 00 80 3f.
        assert_eq!(&bytes[8 + n..8 + n + 4], &[0, 0, 0x80, 0x3f]);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample();
        for n in 0..bytes.len() {
            assert!(read(&bytes[..n]).is_err(), "prefix of {n} bytes");
        }
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let with_header = |json: &str, data: &[u8]| {
            let mut out = (json.len() as u64).to_le_bytes().to_vec();
            out.extend_from_slice(json.as_bytes());
            out.extend_from_slice(data);
            out
        };
        let cases = [
            (r#"[1]"#, "not a JSON object"),
            (
                r#"{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#,
                "dtype \"F16\"",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
                "shape [2] but 4 bytes",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                "starts at byte 4",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                "cover 4 bytes",
            ),
            (
                r#"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#,
                "has no \"shape\"",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
                "not a list of sizes",
            ),
        ];
        for (json, expected) in cases {
            let err = read(&with_header(json, &[0u8; 8])).unwrap_err().to_string();
            assert!(err.contains(expected), "{json}: {err}");
        }
        let huge = u64::MAX.to_le_bytes();
        assert!(read(&huge)
            .unwrap_err()
            .to_string()
            .contains("header length"));
    }
}
