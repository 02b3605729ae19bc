mod flows;
mod harness;
mod http;
mod server;
