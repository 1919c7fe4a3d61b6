//! Writing what the analyzer found: JSON Lines (the public record format), Parquet tables and pcap files.

pub mod copy_as;
pub mod csv;
pub mod har;
pub mod jsonl;
pub mod parquet;
pub mod pcap_writer;
pub mod pcapng_writer;
