// Package testenv holds smexec's test and benchmark machinery, never
// linked into the smexec binary: moto starts a moto_server (a local
// Secrets Manager), faultproxy stands between a client and an endpoint and
// injects faults, delay and throttling, stubsm is a fast in-memory
// endpoint for benchmarks, fakeagent stands in for the AWS Secrets Manager
// Agent, and the command startbench is the start-up benchmark `make bench`
// runs. The product's packages are the others under internal/.
package testenv
