//! Control API types of the Wechat simulator.
