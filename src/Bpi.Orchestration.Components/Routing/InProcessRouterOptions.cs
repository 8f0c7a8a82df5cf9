using System.Net;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Routing;

/// <summary>Options of the in-process traffic router (<see cref="InProcessTrafficRouter"/>).</summary>
public sealed class InProcessRouterOptions
{
    /// <summary>The address every service listens on.</summary>
    /// <value>The default value is <c>127.0.0.1</c> (loopback only).</value>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>How long connecting to a backend may take before the next backend is tried.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a backend that refused a connection is skipped by new connections (unless every backend is skipped), as nginx's <c>fail_timeout</c>.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan BackendRetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many times a request whose backend closes or resets the connection before answering is sent again to another
    /// backend, as nginx's <c>proxy_next_upstream error</c>: only an idempotent HTTP request (GET, HEAD, OPTIONS, PUT,
    /// DELETE, TRACE) of at most 64 KiB, only before the backend's first byte (so at most the first request of a
    /// keep-alive connection), never to a backend already tried. 0 turns retries off.
    /// </summary>
    /// <value>The default value is 2.</value>
    /// <remarks>This is what keeps a replica that dies (killed, crashed) from failing the requests it had accepted but not
    /// answered; the router skips the dead backend from then on, and self-healing takes it out of the route.</remarks>
    public int MaxRequestRetries { get; set; } = 2;

    /// <summary>How long open connections may run on after <see cref="InProcessTrafficRouter.DisposeAsync"/> before they are cut.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The size of the read buffer of each direction of a connection, in bytes.</summary>
    /// <value>The default value is 16384.</value>
    public int BufferSize { get; set; } = 16 * 1024;

    /// <summary>The length of each listener's queue of connections not yet accepted.</summary>
    /// <value>The default value is 512.</value>
    public int ListenBacklog { get; set; } = 512;
}

/// <summary>Checks <see cref="InProcessRouterOptions"/> and lists every problem.</summary>
internal sealed class InProcessRouterOptionsValidator : IValidateOptions<InProcessRouterOptions>
{
    public ValidateOptionsResult Validate(string? name, InProcessRouterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!IPAddress.TryParse(options.ListenAddress, out _))
        {
            errors.Add($"{nameof(InProcessRouterOptions)}.{nameof(InProcessRouterOptions.ListenAddress)}: '{options.ListenAddress}' is not an IP address; use for example 127.0.0.1 or ::1.");
        }

        if (options.ConnectTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(InProcessRouterOptions)}.{nameof(InProcessRouterOptions.ConnectTimeout)}: {options.ConnectTimeout} is not positive; use a duration greater than zero.");
        }

        if (options.BackendRetryAfter < TimeSpan.Zero)
        {
            errors.Add($"{nameof(InProcessRouterOptions)}.{nameof(InProcessRouterOptions.BackendRetryAfter)}: {options.BackendRetryAfter} is negative; use zero or more.");
        }

        if (options.ShutdownTimeout < TimeSpan.Zero)
        {
            errors.Add($"{nameof(InProcessRouterOptions)}.{nameof(InProcessRouterOptions.ShutdownTimeout)}: {options.ShutdownTimeout} is negative; use zero or more.");
        }

        if (options.BufferSize is < 1024 or > 1024 * 1024)
        {
            errors.Add($"{nameof(InProcessRouterOptions)}.{nameof(InProcessRouterOptions.BufferSize)}: {options.BufferSize} is outside 1024..1048576; use a buffer of 1 KiB to 1 MiB.");
        }

        if (options.MaxRequestRetries is < 0 or > 10)
        {
            errors.Add($"{nameof(InProcessRouterOptions)}.{nameof(InProcessRouterOptions.MaxRequestRetries)}: {options.MaxRequestRetries} is outside 0..10; use 0 (no retries) to 10.");
        }

        if (options.ListenBacklog < 1)
        {
            errors.Add($"{nameof(InProcessRouterOptions)}.{nameof(InProcessRouterOptions.ListenBacklog)}: {options.ListenBacklog} is less than 1; use 1 or more.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
