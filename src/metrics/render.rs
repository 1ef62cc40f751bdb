//! Renders reports and daemon state into families. (To be written.)
