using System.Net;
using Bpi.Orchestration.Components.Docker.DockLock;
using Bpi.Orchestration.Components.Docker.Engine;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>Checks <see cref="DockerRuntimeOptions"/> as a whole and lists every problem.</summary>
internal sealed class DockerRuntimeOptionsValidator : IValidateOptions<DockerRuntimeOptions>
{
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
            failures.Add($"{nameof(DockerRuntimeOptions.Host)}: {endpointError}");
        }

        Positive(options.RequestTimeout, nameof(DockerRuntimeOptions.RequestTimeout));
        Positive(options.RetryBaseDelay, nameof(DockerRuntimeOptions.RetryBaseDelay));
        Positive(options.DependencyTimeout, nameof(DockerRuntimeOptions.DependencyTimeout));
        if (options.StopTimeout < TimeSpan.Zero)
        {
            failures.Add($"{nameof(DockerRuntimeOptions.StopTimeout)} is {options.StopTimeout}; use zero or more.");
        }

        if (options.StartupCheckWindow < TimeSpan.Zero)
        {
            failures.Add($"{nameof(DockerRuntimeOptions.StartupCheckWindow)} is {options.StartupCheckWindow}; use zero or more.");
        }

        if (options.MaxRetryAttempts is < 0 or > 10)
        {
            failures.Add($"{nameof(DockerRuntimeOptions.MaxRetryAttempts)} is {options.MaxRetryAttempts}; use 0 to 10.");
        }

        if (options.StartupFailureLogLines is < 0 or > 10_000)
        {
            failures.Add($"{nameof(DockerRuntimeOptions.StartupFailureLogLines)} is {options.StartupFailureLogLines}; use 0 to 10000.");
        }

        if (!IPAddress.TryParse(options.PublishAddress, out _))
        {
            failures.Add($"{nameof(DockerRuntimeOptions.PublishAddress)} is '{options.PublishAddress}'; use an IP address of this host, for example 127.0.0.1.");
        }

        if (options.DefaultPidsLimit <= 0)
        {
            failures.Add($"{nameof(DockerRuntimeOptions.DefaultPidsLimit)} is {options.DefaultPidsLimit}; use a positive number (DockLock always limits PIDs; relax it per component with a reason).");
        }

        if (string.IsNullOrWhiteSpace(options.NonRootUser) || DockLockPolicy.IsRoot(options.NonRootUser))
        {
            failures.Add($"{nameof(DockerRuntimeOptions.NonRootUser)} is '{options.NonRootUser}'; use a non-root uid[:gid], for example 65534:65534.");
        }

        if (options.TmpfsSizeMb <= 0)
        {
            failures.Add($"{nameof(DockerRuntimeOptions.TmpfsSizeMb)} is {options.TmpfsSizeMb}; use a positive size in MB.");
        }

        DockLockPolicy.ParseRestartPolicy(options.DefaultRestartPolicy, out var restartError);
        if (restartError is not null)
        {
            failures.Add($"{nameof(DockerRuntimeOptions.DefaultRestartPolicy)} {restartError}");
        }

        if (options.MaxParallelOperations is < 1 or > 64)
        {
            failures.Add($"{nameof(DockerRuntimeOptions.MaxParallelOperations)} is {options.MaxParallelOperations}; use 1 to 64.");
        }

        return failures;

        void Positive(TimeSpan value, string field)
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
            {
                failures.Add($"{field} is {value}; use a positive duration.");
            }
        }
    }
}
