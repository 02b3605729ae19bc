//! Run reports: the event model and its reporters
