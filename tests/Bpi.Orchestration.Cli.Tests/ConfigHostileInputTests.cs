using Bpi.Orchestration.Cli.Config;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>Config documents built to hurt: each is refused with a position or path, never a crash, a stack trace or unbounded memory.</summary>
public sealed class ConfigHostileInputTests
{
    private const string Base = "name: web\nappId: shop\ncomponents: [{ id: web, command: /bin/sleep, ports: [8080] }]\n";
    private const string BaseJson = "\"name\": \"web\", \"appId\": \"shop\", \"components\": [{ \"id\": \"web\", \"command\": \"/bin/sleep\" }]";

    [Fact]
    public void A_yaml_alias_is_refused_with_its_position_instead_of_being_expanded()
    {
        var ex = Refused("shared: &env { A: \"1\" }\n" + Base + "labels: *env\n", json: false);

        Assert.Contains(ex.Errors, e => e.Contains("line 5, column 9", StringComparison.Ordinal) && e.Contains("alias *env is not supported", StringComparison.Ordinal));
    }

    [Fact]
    public void A_billion_laughs_bomb_is_refused_before_it_allocates_much()
    {
        var bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            + string.Concat(Enumerable.Range(1, 6).Select(i => $"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n"))
            + Base;
        var before = GC.GetAllocatedBytesForCurrentThread();

        var ex = Refused(bomb, json: false);

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 * 1024 * 1024, "a refused bomb allocates little");
        Assert.Contains(ex.Errors, e => e.Contains("alias *a0 is not supported", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("a: &a [*a]\n")]
    [InlineData("a: &a { b: *a }\n")]
    public void A_self_referencing_alias_is_refused_without_a_stack_overflow(string text)
    {
        var ex = Refused(text, json: false);

        Assert.Contains(ex.Errors, e => e.Contains("is not supported", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(65, false)]
    [InlineData(50_000, false)]
    [InlineData(200_000, false)]
    [InlineData(200_000, true)]
    public void Nesting_deeper_than_64_levels_is_refused_with_its_position(int depth, bool json)
    {
        var ex = Refused(new string('[', depth) + new string(']', depth), json);

        Assert.Contains(ex.Errors, e => e.Contains(json ? "depth" : "nested more than 64 levels deep", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Sixty_four_levels_of_nesting_are_read()
    {
        var deep = new string('[', 62) + "1" + new string(']', 62);

        var ex = Refused(Base + "labels: { a: " + deep + " }\n", json: false);

        Assert.Contains(ex.Errors, e => e.StartsWith("labels.a: must be a string", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("strategy: { type: canary, steps: [{ pause: 1e308s }] }", "strategy.steps[0].pause")]
    [InlineData("strategy: { type: canary, steps: [{ pause: 9223372036854775807 }] }", "strategy.steps[0].pause")]
    [InlineData("strategy: { type: canary, steps: [{ pause: Infinity }] }", "strategy.steps[0].pause")]
    [InlineData("strategy: { type: canary, stepWeight: 10, interval: 999999999999h }", "strategy.interval")]
    [InlineData("validation: { pollInterval: 1.79e308ms }", "validation.pollInterval")]
    [InlineData("validation: { progressDeadline: 1e308s }", "validation.progressDeadline")]
    [InlineData("validation: { minReadyTime: 999999999999h }", "validation.minReadyTime")]
    public void A_duration_beyond_what_a_timespan_holds_is_reported_at_its_path(string line, string path)
    {
        var ex = Refused(Base + line + "\n", json: false);

        Assert.Contains(ex.Errors, e => e.StartsWith(path + ": must be a duration", StringComparison.Ordinal));
    }

    [Fact]
    public void A_health_check_period_beyond_what_a_timespan_holds_is_reported_at_its_path()
    {
        var ex = Refused("name: web\nappId: shop\ncomponents: [{ id: web, command: /bin/sleep, ports: [80], healthCheck: { period: 1e308s } }]\n", json: false);

        Assert.Contains(ex.Errors, e => e.StartsWith("components[0].healthCheck.period: must be a duration", StringComparison.Ordinal));
    }

    [Fact]
    public void A_duplicate_key_in_a_json_config_is_refused_with_its_position()
    {
        var ex = Refused("{ \"name\": \"a\", " + BaseJson + " }", json: true);

        Assert.Contains(ex.Errors, e => e.StartsWith("name: the key 'name' appears twice", StringComparison.Ordinal));
    }

    [Fact]
    public void A_yaml_number_beyond_double_is_refused_with_its_position()
    {
        var ex = Refused("name: web\nappId: shop\ncomponents: [{ id: web, command: /bin/sleep, replicas: 1e309 }]\n", json: false);

        Assert.Contains(ex.Errors, e => e.Contains("line 3", StringComparison.Ordinal) && e.Contains("1e309 is out of range", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true, "{ \"name\": \"rel\\ud800fz\", \"appId\": \"shop\", \"components\": [] }", "name: a string contains an unpaired UTF-16 surrogate")]
    [InlineData(true, "{ \"labels\": { \"rel\\udc00\": \"x\" } }", "labels: a string contains an unpaired UTF-16 surrogate")]
    [InlineData(false, "name: \"rel\\ud800fz\"\n", "not valid YAML at line 1, column 7")]
    public void A_lone_surrogate_escape_is_refused_naming_where_it_is(bool json, string text, string expected)
    {
        var ex = Refused(text, json);

        Assert.Contains(ex.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Text_with_an_unpaired_surrogate_character_is_refused_with_its_position(bool json)
    {
        var ex = Refused(json ? "{\n  \"name\": \"a\ud800\"\n}" : "name: web\nappId: a\ud800\n", json);

        Assert.Contains(ex.Errors, e => e.StartsWith(json ? "not valid text at line 2, column 13" : "not valid text at line 2, column 9", StringComparison.Ordinal));
    }

    [Fact]
    public void Yaml_that_trips_the_yaml_scanner_is_refused_with_a_position()
    {
        var ex = Refused("a:\n  [ S: x\nb: 1\n", json: false);

        Assert.Contains(ex.Errors, e => e.StartsWith("not valid YAML at line ", StringComparison.Ordinal));
    }

    [Fact]
    public void A_second_yaml_document_is_refused_with_its_position()
    {
        var ex = Refused(Base + "---\n: : :\n", json: false);

        Assert.Contains(ex.Errors, e => e.Contains("line 4, column 1: a second YAML document", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("name: true\nappId: shop\ncomponents: [{ id: web, command: /bin/sleep }]", "name: must be a string, not the boolean true; quote it (\"true\")")]
    [InlineData("name: web\nappId: shop\ncomponents: [{ id: web, command: true }]", "components[0].command: must be a string, not the boolean true")]
    [InlineData("name: web\nappId: shop\ncomponents: [{ id: 7, image: shop/web:1 }]", "components[0].id: must be a string, not the number 7")]
    [InlineData("name: web\nappId: shop\ncomponents: [{ id: web, image: 1.5 }]", "components[0].image: must be a string, not the number 1.5")]
    [InlineData("name: web\nappId: shop\ncomponents: [{ id: web, command: [1, x] }]", "components[0].command[0]: the program must be a string, not the number 1")]
    [InlineData("name: web\nappId: shop\ncomponents: [{ id: web, command: /bin/sleep, dependsOn: [false] }]", "components[0].dependsOn[0]: must be a string, not the boolean false")]
    public void A_boolean_or_number_where_a_string_is_expected_is_reported_with_a_hint_to_quote_it(string text, string expected)
    {
        var ex = Refused(text, json: false);

        Assert.Contains(ex.Errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_boolean_where_a_string_is_expected_in_json_is_reported_too()
    {
        var ex = Refused("{ \"name\": true, \"appId\": \"shop\", \"components\": [{ \"id\": \"web\", \"command\": \"/bin/sleep\" }] }", json: true);

        Assert.Contains(ex.Errors, e => e.StartsWith("name: must be a string, not the boolean true", StringComparison.Ordinal));
    }

    [Fact]
    public void Text_values_take_numbers_and_booleans_as_written_and_arguments_take_numbers()
    {
        const string text = """
            name: web
            appId: shop
            components:
              - id: web
                command: [/bin/sleep, 600]
                image: shop/web:1
                environment: { VERSION: 1.10, DEBUG: true, RETRIES: 3 }
            strategy: { type: rolling, maxSurge: 2, maxUnavailable: 0 }
            labels: { tier: 1 }
            """;

        var spec = DeploymentConfigLoader.Load(text, json: false, "x.yaml", "/tmp", new ConfigOverrides());

        var web = Assert.Single(spec.Components);
        Assert.Equal(["600"], web.Command!.Arguments);
        Assert.Equal("shop/web:1", web.Image);
        Assert.Equal(("1.10", "true", "3"), (web.Environment["VERSION"], web.Environment["DEBUG"], web.Environment["RETRIES"]));
        Assert.Equal("1", spec.Labels["tier"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_document_over_1_mib_is_refused_before_it_is_parsed(bool json)
    {
        var ex = Refused(json ? "{\"name\": \"" + new string('x', Bpi.Orchestration.Configuration.DeploymentDocument.MaxDocumentChars) + "\"}" : "name: " + new string('x', Bpi.Orchestration.Configuration.DeploymentDocument.MaxDocumentChars), json);

        Assert.Contains(ex.Errors, e => e.Contains("a config file may have at most 1048576", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_value_over_64_kib_is_refused_with_where_it_is(bool json)
    {
        var value = new string('x', Bpi.Orchestration.Configuration.DeploymentDocument.MaxScalarChars + 1);

        var ex = Refused(json ? "{\"labels\": {\"a\": \"" + value + "\"}}" : "labels: { a: " + value + " }", json);

        Assert.Contains(ex.Errors, e => e.Contains(json ? "labels.a: the value is longer than 65536" : "line 1, column 14: a value is longer than 65536", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_list_of_more_than_10000_entries_is_refused(bool json)
    {
        var ports = string.Join(", ", Enumerable.Repeat("8080", Bpi.Orchestration.Configuration.DeploymentDocument.MaxEntries + 1));

        var ex = Refused(json ? "{\"ports\": [" + ports + "]}" : "ports: [" + ports + "]", json);

        Assert.Contains(ex.Errors, e => e.Contains("more than 10000 entries", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("strategy: { type: canary, steps: [{ pause: 1300h }] }", "strategy (canary): steps[0].duration: 54.04:00:00 is longer than the longest supported wait")]
    [InlineData("strategy: { type: canary, stepWeight: 10, interval: 600h }", "strategy (canary): interval: 25.00:00:00 is longer")]
    [InlineData("strategy: { type: rolling, pauseBetweenBatches: 1300h }", "strategy (rolling): pauseBetweenBatches: 54.04:00:00 is longer")]
    [InlineData("strategy: { type: blueGreen, scaleDownDelay: 1300h }", "strategy (blue-green): scaleDownDelay: 54.04:00:00 is longer")]
    [InlineData("strategy: { type: canary, steps: [{ approval: { name: gate, timeout: 1300h } }] }", "strategy (canary): steps[0].gate.timeout: 54.04:00:00 is longer")]
    [InlineData("validation: { progressDeadline: 1300h }", "validation.progressDeadline: 54.04:00:00 is longer")]
    public void A_duration_longer_than_a_timer_can_wait_is_refused_by_validation_at_its_path(string line, string expected)
    {
        var ex = Refused(Base + line + "\n", json: false);

        Assert.Contains(ex.Errors, e => e.StartsWith(expected, StringComparison.OrdinalIgnoreCase));
    }

    private static OrchestrationException Refused(string text, bool json)
    {
        var ex = Assert.Throws<OrchestrationException>(() => DeploymentConfigLoader.Load(text, json, "x", "/tmp", new ConfigOverrides()));
        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        return ex;
    }
}
