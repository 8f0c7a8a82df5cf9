// A child process for the crash tests: appends entries to a FileAuditStore as fast as it can, from several concurrent
// appenders, and prints "ack <sequence> <appender> <n>" on stdout after each append has returned (that is, after its
// fsync). The test kills it with SIGKILL at a random moment and then checks that every acknowledged entry survived.
//
// Usage: dotnet Bpi.Orchestration.Audit.CrashHost.dll <directory> <private-key-pem-file> <appenders> <segment-size>
using System.Text;
using Bpi.Orchestration.Audit;

if (args.Length != 4)
{
    Console.Error.WriteLine("usage: <directory> <private-key-pem-file> <appenders> <segment-size>");
    return 2;
}

var directory = args[0];
using var signer = CheckpointSigner.FromPem("crash-host.test/audit", File.ReadAllText(args[1]));
var appenders = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
var options = new FileAuditStoreOptions
{
    Path = directory,
    SegmentSize = long.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture),
    CheckpointEveryEntries = 97,
    CheckpointInterval = TimeSpan.Zero,
    CheckpointSigners = { signer },
};

var store = await FileAuditStore.OpenAsync(options);
var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
var gate = new object();
output.WriteLine($"ready {store.Count}");
output.Flush();

var tasks = Enumerable.Range(0, appenders).Select(appender => Task.Run(async () =>
{
    for (var n = 0; ; n++)
    {
        var receipt = await store.AppendAsync(new NewAuditEntry
        {
            Actor = $"appender-{appender}",
            Action = "crash.test.append",
            Target = $"deployment-{n % 7}",
            Outcome = "succeeded",
            Payload = Encoding.UTF8.GetBytes($"{{\"appender\":{appender},\"n\":{n},\"pad\":\"{new string('x', n % 300)}\"}}"),
        });
        lock (gate)
        {
            output.WriteLine($"ack {receipt.Sequence} {appender} {n}");
            output.Flush();
        }
    }
})).ToArray();

await Task.WhenAll(tasks);
return 0;
