//! The one async drive loop that runs a sans-IO core over a transport (simulated or live)
