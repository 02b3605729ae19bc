//! natlab's documented-code catalog: AAE events and status codes, trunk SIP errors, intercom settings, softphone callbacks, embedded at build time
