using System.Net;
using Bpi.Orchestration.Components.Docker.DockLock;
using Bpi.Orchestration.Components.Docker.Engine;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>Checks <see cref="DockerRuntimeOptions"/> as a whole and lists every problem.</summary>
internal sealed class DockerRuntimeOptionsValidator : IValidateOptions<DockerRuntimeOptions>
{
    /// <summary>The start of every problem's path, as in "DockerRuntimeOptions.StopTimeout: …".</summary>
    private const string Type = nameof(DockerRuntimeOptions);

    public ValidateOptionsResult Validate(string? name, DockerRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Collect(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static List<string> Collect(DockerRuntimeOptions options)
    {
        var failures = new List<string>();
        if (options.Host is not null && !DockerEndpoint.TryParse(options.Host, out _, out var endpointError))
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.Host)}: {endpointError}");
        }

        Positive(options.RequestTimeout, nameof(DockerRuntimeOptions.RequestTimeout));
        Positive(options.RetryBaseDelay, nameof(DockerRuntimeOptions.RetryBaseDelay));
        Positive(options.DependencyTimeout, nameof(DockerRuntimeOptions.DependencyTimeout));
        if (options.StopTimeout < TimeSpan.Zero)
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.StopTimeout)}: {options.StopTimeout} is negative; use zero or more.");
        }

        if (options.StartupCheckWindow < TimeSpan.Zero)
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.StartupCheckWindow)}: {options.StartupCheckWindow} is negative; use zero or more.");
        }

        if (options.MaxRetryAttempts is < 0 or > 10)
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.MaxRetryAttempts)}: {options.MaxRetryAttempts} is out of range; use 0 to 10.");
        }

        if (options.StartupFailureLogLines is < 0 or > 10_000)
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.StartupFailureLogLines)}: {options.StartupFailureLogLines} is out of range; use 0 to 10000.");
        }

        if (!IPAddress.TryParse(options.PublishAddress, out _))
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.PublishAddress)}: '{options.PublishAddress}' is not an IP address; use an IP address of this host, for example 127.0.0.1.");
        }

        if (options.DefaultPidsLimit <= 0)
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.DefaultPidsLimit)}: {options.DefaultPidsLimit} is not positive; use a positive number (DockLock always limits PIDs; relax it per component with a reason).");
        }

        if (string.IsNullOrWhiteSpace(options.NonRootUser) || DockLockPolicy.IsRoot(options.NonRootUser))
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.NonRootUser)}: '{options.NonRootUser}' is empty or root; use a non-root uid[:gid], for example 65534:65534.");
        }

        if (options.TmpfsSizeMb <= 0)
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.TmpfsSizeMb)}: {options.TmpfsSizeMb} is not positive; use a positive size in MB.");
        }

        DockLockPolicy.ParseRestartPolicy(options.DefaultRestartPolicy, out var restartError);
        if (restartError is not null)
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.DefaultRestartPolicy)}: '{options.DefaultRestartPolicy}' is not a restart policy; use no, on-failure, on-failure:N, unless-stopped or always.");
        }

        if (options.MaxParallelOperations is < 1 or > 64)
        {
            failures.Add($"{Type}.{nameof(DockerRuntimeOptions.MaxParallelOperations)}: {options.MaxParallelOperations} is out of range; use 1 to 64.");
        }

        return failures;

        void Positive(TimeSpan value, string field)
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
            {
                failures.Add($"{Type}.{field}: {value} is not positive; use a positive duration (or Timeout.InfiniteTimeSpan).");
            }
        }
    }
}
