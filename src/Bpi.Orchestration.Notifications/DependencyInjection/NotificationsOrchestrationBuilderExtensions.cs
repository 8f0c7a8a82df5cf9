using System.Threading;
using Bpi.Orchestration.Notifications;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the alerts of <c>Bpi.Orchestration.Notifications</c>.</summary>
public static class NotificationsOrchestrationBuilderExtensions
{
    /// <summary>
    /// Adds notifications: a hosted service that watches the orchestrator's events from the moment the host starts and
    /// sends what the rules of <see cref="NotificationOptions"/> match to their channels, in the background (a rollout never
    /// waits on a receiver). Options are validated when the host starts, every problem listed. Called again, it adds the
    /// further configuration to the same options.
    /// </summary>
    /// <param name="builder">The orchestration builder.</param>
    /// <param name="configure">Adds channels and rules.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IOrchestrationBuilder AddNotifications(this IOrchestrationBuilder builder, Action<NotificationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddValidatedOptions<NotificationOptions, NotificationOptionsValidator>(configure);
        services.AddHttpClient(NotificationSender.HttpClientName, client =>
        {
            // Each attempt has its own timeout on the orchestrator's clock (NotificationOptions.AttemptTimeout).
            client.Timeout = Timeout.InfiniteTimeSpan;
        })
        // The factory's default request logging writes each URL at Information, and Slack and Teams webhook URLs carry their secret.
        .RemoveAllLoggers();
        services.TryAddSingleton<NotificationDispatcher>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, NotificationDispatcher>(sp => sp.GetRequiredService<NotificationDispatcher>()));
        return builder;
    }
}
