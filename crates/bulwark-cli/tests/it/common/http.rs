//! A registry answer, read whole, with the accessors the registry tests check.

#![allow(dead_code)]

use reqwest::header::HeaderMap;
use serde_json::Value;

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn from_response(r: reqwest::blocking::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().map(|b| b.to_vec()).unwrap_or_default();
        Resp { status, headers, body }
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    /// The first OCI error code.
    pub fn code(&self) -> String {
        self.json()["errors"][0]["code"].as_str().unwrap_or("").to_string()
    }
    pub fn message(&self) -> String {
        self.json()["errors"][0]["message"].as_str().unwrap_or("").to_string()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
    pub fn describe(&self) -> String {
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(400)]).to_string();
        format!("{} {body}", self.status)
    }
    #[track_caller]
    pub fn expect(&self, status: u16, code: Option<&str>) -> &Self {
        assert_eq!(self.status, status, "{}", self.describe());
        if let Some(c) = code {
            assert_eq!(self.code(), c, "{}", self.describe());
        }
        self
    }
    pub fn tags(&self) -> Vec<String> {
        strings(&self.json()["tags"])
    }
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}
