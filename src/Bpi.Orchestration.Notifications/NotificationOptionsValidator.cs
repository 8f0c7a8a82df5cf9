using System.Globalization;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Notifications;

/// <summary>Checks <see cref="NotificationOptions"/> as a whole and lists every problem, each as "NotificationOptions.Property: problem; what to do".</summary>
internal sealed class NotificationOptionsValidator : IValidateOptions<NotificationOptions>
{
    private const string Type = nameof(NotificationOptions);
    private const int MinSecretLength = 16;

    public ValidateOptionsResult Validate(string? name, NotificationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Collect(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static List<string> Collect(NotificationOptions options)
    {
        var failures = new List<string>();
        void Range(int value, int min, int max, string property)
        {
            if (value < min || value > max)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{Type}.{property}: {value} is out of range; use {min} to {max}."));
            }
        }

        void Positive(TimeSpan value, string property)
        {
            if (value <= TimeSpan.Zero)
            {
                failures.Add($"{Type}.{property}: {value} is not positive; use a duration above zero.");
            }
        }

        Range(options.QueueCapacity, 1, 1_000_000, nameof(NotificationOptions.QueueCapacity));
        Range(options.MaxConcurrentDeliveries, 1, 64, nameof(NotificationOptions.MaxConcurrentDeliveries));
        Range(options.MaxRetryAttempts, 0, 20, nameof(NotificationOptions.MaxRetryAttempts));
        Positive(options.RetryBaseDelay, nameof(NotificationOptions.RetryBaseDelay));
        Positive(options.AttemptTimeout, nameof(NotificationOptions.AttemptTimeout));
        if (options.RetryMaxDelay < options.RetryBaseDelay)
        {
            failures.Add($"{Type}.{nameof(NotificationOptions.RetryMaxDelay)}: {options.RetryMaxDelay} is shorter than RetryBaseDelay ({options.RetryBaseDelay}); use at least RetryBaseDelay.");
        }

        if (options.DeduplicationWindow < TimeSpan.Zero)
        {
            failures.Add($"{Type}.{nameof(NotificationOptions.DeduplicationWindow)}: {options.DeduplicationWindow} is negative; use zero (off) or more.");
        }

        if (options.CloudEventsSource is { } source && (source.Length == 0 || !Uri.TryCreate(source, UriKind.RelativeOrAbsolute, out _)))
        {
            failures.Add($"{Type}.{nameof(NotificationOptions.CloudEventsSource)}: '{source}' is not a URI reference; use one such as /bpi-orchestration/prod or leave it null.");
        }

        var channelNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Channels.Count; i++)
        {
            var at = string.Create(CultureInfo.InvariantCulture, $"{Type}.{nameof(NotificationOptions.Channels)}[{i}]");
            var channel = options.Channels[i];
            if (channel is null)
            {
                failures.Add($"{at}: is null; remove it or give the channel's name, kind and URL.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(channel.Name))
            {
                failures.Add($"{at}.{nameof(NotificationChannelOptions.Name)}: is empty; name the channel so rules can refer to it.");
            }
            else if (!channelNames.Add(channel.Name))
            {
                failures.Add($"{at}.{nameof(NotificationChannelOptions.Name)}: '{channel.Name}' names another channel too; give each channel its own name.");
            }

            if (!Enum.IsDefined(channel.Kind))
            {
                failures.Add($"{at}.{nameof(NotificationChannelOptions.Kind)}: {channel.Kind} is not a channel kind; use Webhook, CloudEvents, Slack or Teams.");
            }

            if (channel.Url is not { IsAbsoluteUri: true } url || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                failures.Add($"{at}.{nameof(NotificationChannelOptions.Url)}: {(channel.Url is null ? "is missing" : "'" + channel.Url + "' is not an absolute http or https URL")}; give the receiver's URL.");
            }

            var signed = channel.Kind is NotificationChannelKind.Webhook or NotificationChannelKind.CloudEvents;
            if (signed && string.IsNullOrEmpty(channel.Secret))
            {
                failures.Add($"{at}.{nameof(NotificationChannelOptions.Secret)}: is missing; a {channel.Kind} channel signs every body (X-Bpi-Signature), give a secret of at least {MinSecretLength} characters that the receiver shares.");
            }
            else if (channel.Secret is { } secret && secret.Length < MinSecretLength)
            {
                failures.Add($"{at}.{nameof(NotificationChannelOptions.Secret)}: is {secret.Length} characters long; use at least {MinSecretLength} (a random value).");
            }
        }

        var ruleNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Rules.Count; i++)
        {
            var at = string.Create(CultureInfo.InvariantCulture, $"{Type}.{nameof(NotificationOptions.Rules)}[{i}]");
            var rule = options.Rules[i];
            if (rule is null)
            {
                failures.Add($"{at}: is null; remove it or give the rule's name, triggers and channels.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(rule.Name))
            {
                failures.Add($"{at}.{nameof(NotificationRule.Name)}: is empty; name the rule (it is in every notification and metric).");
            }
            else if (!ruleNames.Add(rule.Name))
            {
                failures.Add($"{at}.{nameof(NotificationRule.Name)}: '{rule.Name}' names another rule too; give each rule its own name.");
            }

            foreach (var trigger in rule.Triggers.Where(t => !Enum.IsDefined(t)))
            {
                failures.Add($"{at}.{nameof(NotificationRule.Triggers)}: {trigger} is not a trigger; use one of {string.Join(", ", Enum.GetNames<NotificationTrigger>())}.");
            }

            if (rule.Channels.Count == 0)
            {
                failures.Add($"{at}.{nameof(NotificationRule.Channels)}: is empty; name at least one channel of NotificationOptions.Channels.");
            }

            foreach (var channel in rule.Channels.Where(c => !channelNames.Contains(c ?? "")))
            {
                failures.Add($"{at}.{nameof(NotificationRule.Channels)}: '{channel}' is not a channel; name one of NotificationOptions.Channels ({string.Join(", ", channelNames)}).");
            }

            if (rule.RateLimit < 1)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.{nameof(NotificationRule.RateLimit)}: {rule.RateLimit} is below 1; use at least 1 notification per window."));
            }

            if (rule.RateLimitWindow <= TimeSpan.Zero)
            {
                failures.Add($"{at}.{nameof(NotificationRule.RateLimitWindow)}: {rule.RateLimitWindow} is not positive; use a duration above zero.");
            }
        }

        return failures;
    }
}
