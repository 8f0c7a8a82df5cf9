using System.Globalization;

namespace Bpi.Orchestration.Security.Authorization;

/// <summary>What a condition can look at: the request, and the security score of the spec concerned (computed on demand).</summary>
public sealed class AuthorizationConditionContext
{
    private readonly Func<CancellationToken, ValueTask<double?>> _score;
    private double? _cachedScore;
    private bool _scoreKnown;

    internal AuthorizationConditionContext(AuthorizationRequest request, Func<CancellationToken, ValueTask<double?>> score)
    {
        Request = request;
        _score = score;
    }

    /// <summary>The request being decided.</summary>
    public AuthorizationRequest Request { get; }

    /// <summary>
    /// The security score of the spec concerned: the <c>securityScore</c> attribute when the caller gives one, else the
    /// assessment of the request's spec, else of the deployment's current spec; <see langword="null"/> when none is known.
    /// </summary>
    /// <param name="cancellationToken">Cancels the assessment.</param>
    /// <returns>The score.</returns>
    public async ValueTask<double?> GetSecurityScoreAsync(CancellationToken cancellationToken = default)
    {
        if (!_scoreKnown)
        {
            _cachedScore = await _score(cancellationToken).ConfigureAwait(false);
            _scoreKnown = true;
        }

        return _cachedScore;
    }
}

/// <summary>An attribute condition of an <see cref="AuthorizationRule"/> (ABAC). Built-ins: <see cref="MinimumSecurityScore"/>, <see cref="ApproverIsNotRequester"/>, <see cref="ActorAttributeEquals"/>; or derive your own.</summary>
public abstract class AuthorizationCondition
{
    /// <summary>The condition in the policy text syntax, for example <c>score&gt;=7</c>, written into decisions.</summary>
    public abstract string Description { get; }

    /// <summary>Whether the condition holds for a request.</summary>
    /// <param name="context">The request and its facts.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>Whether it holds.</returns>
    public abstract ValueTask<bool> IsSatisfiedAsync(AuthorizationConditionContext context, CancellationToken cancellationToken = default);

    /// <summary>The security score of the spec concerned is at least <paramref name="minimum"/> (an unknown score does not satisfy it).</summary>
    /// <param name="minimum">The minimum score, 0–10.</param>
    /// <returns>The condition (<c>score&gt;=N</c>).</returns>
    public static AuthorizationCondition MinimumSecurityScore(double minimum) => new ScoreCondition(minimum);

    /// <summary>The acting identity is not the one that requested the change (<c>requester</c> attribute): separation of duties for approvals.</summary>
    /// <returns>The condition (<c>approver!=requester</c>).</returns>
    public static AuthorizationCondition ApproverIsNotRequester() => SeparationOfDuties.Instance;

    /// <summary>The actor has attribute <paramref name="name"/> equal to <paramref name="value"/> (ordinal).</summary>
    /// <param name="name">The attribute, for example <c>team</c>.</param>
    /// <param name="value">The value required.</param>
    /// <returns>The condition (<c>actor.name=value</c>).</returns>
    public static AuthorizationCondition ActorAttributeEquals(string name, string value) => new ActorAttribute(name, value);

    /// <summary>A condition from code.</summary>
    /// <param name="description">How it reads in decisions.</param>
    /// <param name="predicate">The test.</param>
    /// <returns>The condition.</returns>
    public static AuthorizationCondition FromPredicate(string description, Func<AuthorizationRequest, bool> predicate) => new Predicate(description, predicate);

    /// <inheritdoc />
    public override string ToString() => Description;

    private sealed class ScoreCondition(double minimum) : AuthorizationCondition
    {
        public override string Description { get; } = string.Create(CultureInfo.InvariantCulture, $"score>={minimum}");

        public override async ValueTask<bool> IsSatisfiedAsync(AuthorizationConditionContext context, CancellationToken cancellationToken = default)
            => await context.GetSecurityScoreAsync(cancellationToken).ConfigureAwait(false) is { } score && score >= minimum;
    }

    private sealed class SeparationOfDuties : AuthorizationCondition
    {
        public static readonly SeparationOfDuties Instance = new();

        public override string Description => "approver!=requester";

        public override ValueTask<bool> IsSatisfiedAsync(AuthorizationConditionContext context, CancellationToken cancellationToken = default)
        {
            var request = context.Request;
            return ValueTask.FromResult(
                request.Attributes.TryGetValue("requester", out var requester)
                && !string.IsNullOrEmpty(requester)
                && !string.Equals(requester, request.Actor.Id, StringComparison.Ordinal));
        }
    }

    private sealed class ActorAttribute(string name, string value) : AuthorizationCondition
    {
        public override string Description { get; } = $"actor.{name}={value}";

        public override ValueTask<bool> IsSatisfiedAsync(AuthorizationConditionContext context, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(context.Request.Actor.Attributes.TryGetValue(name, out var actual) && string.Equals(actual, value, StringComparison.Ordinal));
    }

    private sealed class Predicate(string description, Func<AuthorizationRequest, bool> predicate) : AuthorizationCondition
    {
        public override string Description { get; } = description;

        public override ValueTask<bool> IsSatisfiedAsync(AuthorizationConditionContext context, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(predicate(context.Request));
    }
}
