using System.Globalization;
using BenchmarkDotNet.Running;
using Bpi.Orchestration.Components.Benchmarks;

// Needs a Docker Engine on DOCKER_HOST or /var/run/docker.sock and /bin/busybox (Debian's busybox-static).
//   dotnet run -c Release --project benchmarks/Bpi.Orchestration.Components.Benchmarks -- --filter '*Converge*'
//   dotnet run -c Release --project benchmarks/Bpi.Orchestration.Components.Benchmarks -- paired 20 0 swarm
//   dotnet run -c Release --project benchmarks/Bpi.Orchestration.Components.Benchmarks -- rolling 20 0
//   dotnet run -c Release --project benchmarks/Bpi.Orchestration.Components.Benchmarks -- heal-latency processes 10
//   dotnet run -c Release --project benchmarks/Bpi.Orchestration.Components.Benchmarks -- heal-latency docker 10
if (args.Length > 0 && args[0] == "paired")
{
    var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
    var windowMs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 0;
    return await PairedHarness.RunAsync(rounds, windowMs, withSwarm: args.Contains("swarm"));
}

if (args.Length > 0 && args[0] == "rolling")
{
    var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
    var windowMs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 0;
    return await RollingHarness.RunAsync(rounds, windowMs);
}

if (args.Length > 0 && args[0] == "heal-latency")
{
    var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10;
    return await HealLatencyHarness.RunAsync(args.Length > 1 ? args[1] : "processes", rounds);
}

BenchmarkSwitcher.FromAssembly(typeof(ConvergeBenchmarks).Assembly).Run(args);
return 0;
