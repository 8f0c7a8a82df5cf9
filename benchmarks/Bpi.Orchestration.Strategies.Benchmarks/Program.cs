using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Bpi.Orchestration.Strategies.Benchmarks.PlanBenchmarks).Assembly).Run(args);
