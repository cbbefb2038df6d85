//! The moto server the tests use, the SDK configuration pointed at it, and plain HTTP reads
//! of its inspection API.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};

/// The variable that names the moto server, such as `http://127.0.0.1:5123`.
pub const ENDPOINT_VARIABLE: &str = "ACCOLADE_MOTO_ENDPOINT";

/// Any region works on moto; one is set so that the SDK never looks one up.
pub const REGION: &str = "eu-west-2";

const HOW_TO_START: &str = "start the emulator with `bash infra/scripts/setup-test-tools.sh && \
     .venv/tools/bin/python infra/scripts/moto_serial.py -H 127.0.0.1 -p 5123` and set \
     ACCOLADE_MOTO_ENDPOINT=http://127.0.0.1:5123, or run every test with `bash infra/scripts/test.sh`";

/// A moto server and the SDK configuration pointed at it.
pub struct Moto {
    /// The endpoint URL without a trailing slash.
    pub endpoint: String,
    address: SocketAddr,
    pub sdk: SdkConfig,
}

/// Connects to the moto server named by `ACCOLADE_MOTO_ENDPOINT`. Panics with how to start
/// one when the variable is unset, names a host other than this machine, or nothing listens.
pub async fn moto() -> Moto {
    let endpoint = std::env::var(ENDPOINT_VARIABLE)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| {
            panic!("{ENDPOINT_VARIABLE} is not set, so there is no AWS emulator to test against: {HOW_TO_START}")
        });
    let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
    let host_port = endpoint.strip_prefix("http://").unwrap_or_else(|| {
        panic!("{ENDPOINT_VARIABLE}={endpoint:?} must be an http:// URL of a loopback address")
    });
    let address = host_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .unwrap_or_else(|| panic!("{ENDPOINT_VARIABLE}={endpoint:?} has no host:port"));
    // The SDK must never reach a real AWS endpoint from a test.
    assert!(
        address.ip().is_loopback(),
        "{ENDPOINT_VARIABLE}={endpoint:?} is not a loopback address; the tests only talk to an \
         emulator on this machine"
    );
    if let Err(error) = TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
        panic!("nothing answers at {ENDPOINT_VARIABLE}={endpoint} ({error}): {HOW_TO_START}");
    }

    let sdk = accolade_aws::sdk_config_loader(Some(&endpoint))
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "moto-tests",
        ))
        .load()
        .await;
    Moto {
        endpoint,
        address,
        sdk,
    }
}

impl Moto {
    /// Returns the body of `GET path` on the moto server, such as `/moto-api/data.json`.
    pub fn get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect_timeout(&self.address, Duration::from_secs(5))
            .unwrap_or_else(|error| panic!("connecting to {} failed: {error}", self.endpoint));
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("setting a read timeout failed");
        // HTTP/1.0 with no keep-alive: the body ends where the connection closes.
        let request = format!(
            "GET {path} HTTP/1.0\r\nHost: {}\r\nAccept: application/json\r\n\r\n",
            self.address
        );
        stream
            .write_all(request.as_bytes())
            .unwrap_or_else(|error| panic!("sending GET {path} failed: {error}"));
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .unwrap_or_else(|error| panic!("reading GET {path} failed: {error}"));
        let response = String::from_utf8(response).expect("the response is not UTF-8");
        let (head, body) = response
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("GET {path} returned no header end: {response:?}"));
        let status_line = head.lines().next().unwrap_or_default();
        assert!(
            status_line.split_whitespace().nth(1) == Some("200"),
            "GET {path} answered {status_line:?}"
        );
        body.to_owned()
    }
}

/// Makes a fresh name for a table, bucket or parameter: lower-case, at most 50 characters.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
