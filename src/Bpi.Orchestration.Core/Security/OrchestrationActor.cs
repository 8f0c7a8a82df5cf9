namespace Bpi.Orchestration;

/// <summary>
/// The identity acting on the orchestrator: who deploys, approves or destroys. Set it for a block of calls with
/// <see cref="BeginScope"/> (for example per HTTP request in a deployment service); without a scope, operations run as
/// <see cref="System"/>. The audit trail records it and the authorizer decides on it.
/// </summary>
public sealed record OrchestrationActor
{
    private static readonly AsyncLocal<OrchestrationActor?> Ambient = new();

    /// <summary>The identity's id, for example a user name or a CI job id.</summary>
    public required string Id { get; init; }

    /// <summary>The identity's roles, for role-based authorization.</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary>Attributes, for attribute-based authorization (for example <c>team</c>).</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();

    /// <summary>The orchestrator itself (background work, automatic rollbacks).</summary>
    public static OrchestrationActor System { get; } = new() { Id = "system", Roles = ["system"] };

    /// <summary>The actor of the current async flow, or <see cref="System"/> when no scope is active.</summary>
    public static OrchestrationActor Current => Ambient.Value ?? System;

    /// <summary>Makes <paramref name="actor"/> the current actor until the returned scope is disposed.</summary>
    /// <param name="actor">The acting identity.</param>
    /// <returns>A scope that restores the previous actor when disposed.</returns>
    public static IDisposable BeginScope(OrchestrationActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var previous = Ambient.Value;
        Ambient.Value = actor;
        return new Scope(previous);
    }

    private sealed class Scope(OrchestrationActor? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                Ambient.Value = previous;
            }
        }
    }
}
