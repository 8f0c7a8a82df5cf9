using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Notifications.Tests;

public sealed class NotificationOptionsTests
{
    [Fact]
    public async Task Bad_options_fail_the_notifier_start_with_every_problem_listed()
    {
        await using var host = new NotificationsHost(o =>
        {
            o.Channels.Add(new NotificationChannelOptions { Name = "hook", Url = new Uri("/relative", UriKind.Relative) });
            o.Channels.Add(new NotificationChannelOptions { Name = "hook", Kind = NotificationChannelKind.Slack, Url = new Uri("ftp://example.org/x"), Secret = "short" });
            o.Rules.Add(new NotificationRule { Name = "", Channels = { "nowhere" }, RateLimit = 0, RateLimitWindow = TimeSpan.Zero });
            o.Rules.Add(new NotificationRule { Name = "empty" });
            o.QueueCapacity = 0;
            o.RetryBaseDelay = TimeSpan.FromSeconds(10);
            o.RetryMaxDelay = TimeSpan.FromSeconds(1);
        });

        var error = await Record.ExceptionAsync(host.StartNotifierAsync);
        var problems = OptionsProblems.Of(error!, typeof(NotificationOptions));
        Assert.Equal(
        [
            "NotificationOptions.QueueCapacity: 0 is out of range; use 1 to 1000000.",
            "NotificationOptions.RetryMaxDelay: 00:00:01 is shorter than RetryBaseDelay (00:00:10); use at least RetryBaseDelay.",
            "NotificationOptions.Channels[0].Url: '/relative' is not an absolute http or https URL; give the receiver's URL.",
            "NotificationOptions.Channels[0].Secret: is missing; a Webhook channel signs every body (X-Bpi-Signature), give a secret of at least 16 characters that the receiver shares.",
            "NotificationOptions.Channels[1].Name: 'hook' names another channel too; give each channel its own name.",
            "NotificationOptions.Channels[1].Url: 'ftp://example.org/x' is not an absolute http or https URL; give the receiver's URL.",
            "NotificationOptions.Channels[1].Secret: is 5 characters long; use at least 16 (a random value).",
            "NotificationOptions.Rules[0].Name: is empty; name the rule (it is in every notification and metric).",
            "NotificationOptions.Rules[0].Channels: 'nowhere' is not a channel; name one of NotificationOptions.Channels (hook).",
            "NotificationOptions.Rules[0].RateLimit: 0 is below 1; use at least 1 notification per window.",
            "NotificationOptions.Rules[0].RateLimitWindow: 00:00:00 is not positive; use a duration above zero.",
            "NotificationOptions.Rules[1].Channels: is empty; name at least one channel of NotificationOptions.Channels.",
        ], problems);
    }

    [Fact]
    public async Task The_notifier_is_a_hosted_service_so_a_generic_host_validates_and_starts_it()
    {
        await using var host = new NotificationsHost(o => o.Channels.Add(new NotificationChannelOptions { Name = "hook-hosted", Url = new Uri("http://127.0.0.1:9/") }));
        Assert.Contains(host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>(), s => s is NotificationDispatcher);
        var validation = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<NotificationOptions>>().Value);
        Assert.Single(OptionsProblems.Of(validation, typeof(NotificationOptions)));
    }
}
