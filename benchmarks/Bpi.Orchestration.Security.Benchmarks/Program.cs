using BenchmarkDotNet.Running;
using Bpi.Orchestration.Security.Benchmarks;

// dotnet run -c Release -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(SecurityBenchmarks).Assembly).Run(args);
