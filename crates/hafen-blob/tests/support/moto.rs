//! A local S3 server for tests: moto's stand-alone server (PyPI `moto[server]`, installed by
//! `scripts/test`) on a free loopback port, killed when the handle drops. moto does not verify
//! signatures, only that a request carries credentials, so tests create buckets and tamper with
//! objects through plain HTTP with a syntactically valid but unsigned `Authorization` header.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

impl Moto {
    /// Starts the server and waits until it answers; sets dummy AWS credentials for the process.
    pub fn start() -> Moto {
        std::env::set_var("AWS_ACCESS_KEY_ID", "hafen-test-key");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "hafen-test-secret");
        let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto (pip install 'moto[server]')");
        let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
                && ureq::get(&format!("{}/", moto.endpoint)).call().is_ok()
            {
                break;
            }
            assert!(Instant::now() < deadline, "moto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn create_bucket(&self, bucket: &str) {
        let response = ureq::put(&format!("{}/{bucket}", self.endpoint))
            .set("Authorization", AUTHORIZATION)
            .call()
            .expect("create bucket");
        assert_eq!(response.status(), 200);
    }

    /// The blob store url of a bucket (optionally with a key prefix) on this server.
    pub fn url(&self, bucket: &str) -> String {
        format!("s3://{bucket}?endpoint={}&region=us-east-1", self.endpoint)
    }

    /// Writes an object directly (bypassing the blob store).
    pub fn put_object(&self, bucket: &str, key: &str, data: &[u8]) {
        let response = ureq::put(&format!("{}/{bucket}/{key}", self.endpoint))
            .set("Authorization", AUTHORIZATION)
            .send_bytes(data)
            .expect("put object");
        assert_eq!(response.status(), 200);
    }

    /// Reads an object directly; `None` when it does not exist.
    pub fn get_object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match ureq::get(&format!("{}/{bucket}/{key}", self.endpoint)).set("Authorization", AUTHORIZATION).call() {
            Ok(response) => {
                let mut body = Vec::new();
                std::io::Read::read_to_end(&mut response.into_reader(), &mut body).expect("read object");
                Some(body)
            }
            Err(ureq::Error::Status(404, _)) => None,
            Err(error) => panic!("get object: {error}"),
        }
    }
}

/// An `Authorization` header naming the test key; moto does not check the signature.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=hafen-test-key/20250101/us-east-1/s3/aws4_request, \
     SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000";

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
