using BenchmarkDotNet.Running;
using Bpi.Orchestration.Audit.Benchmarks;

// BenchmarkDotNet:   dotnet run -c Release -- --filter '*' --job short
// Latency harness:   dotnet run -c Release -- latency [appenders=256] [seconds=10]
// Verify harness:    dotnet run -c Release -- verify [entries=1000000]
if (args.Length > 0 && args[0] == "latency")
{
    var appenders = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 256;
    var seconds = args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10;
    await AppendLatencyHarness.RunAsync(appenders, TimeSpan.FromSeconds(seconds));
    return;
}

if (args.Length > 0 && args[0] == "verify")
{
    await VerifyHarness.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(DurableAppendBenchmarks).Assembly).Run(args);
