//! A sans-IO NAT box with every RFC 4787 behaviour
