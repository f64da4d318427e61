package audittrail

// crashPoint marks a step of a multi-step file operation (rotation, compression, recovery) after which a crash
// leaves a distinct state on disk. In the writer it does nothing; the crash tests replace it to stop the process
// there and kill it with SIGKILL, so that recovery is tested from every such state.
var crashPoint = func(step string) {}
