//! The AWS adapters against the moto AWS emulator, through the real AWS SDK.
//!
//! Every test needs a moto server on 127.0.0.1 named by `ACCOLADE_MOTO_ENDPOINT` and fails,
//! saying how to start one, when there is none. `bash infra/scripts/test.sh` starts it. Each
//! test makes its own table or bucket, so the tests can share one server and run in parallel.

mod common;
mod dynamo_store;
mod s3_files;
mod ses_mail;
mod signing_keys;
mod ssm_secrets;
mod stream_records;
