//! process_* series from /proc/self. (To be written.)
