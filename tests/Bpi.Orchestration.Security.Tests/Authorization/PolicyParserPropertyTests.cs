using System.Text;
using System.Text.Json;
using Bpi.Orchestration.Security.Authorization;
using FsCheck;
using FsCheck.Fluent;

namespace Bpi.Orchestration.Security.Tests.Authorization;

/// <summary>
/// Hostile policy documents: both parsers return a policy or an <see cref="OrchestrationException"/> of kind
/// InvalidConfiguration, never another exception; a JSON document with an unknown member never yields a policy.
/// Each case is built from an FsCheck-chosen seed (the failing seed is reported), from a grammar of well-formed, typo'd,
/// repeated, mistyped and empty parts, then sometimes cut or sprinkled with control characters.
/// </summary>
public sealed class PolicyParserPropertyTests
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(10_000);
    private static readonly OrchestrationActor Root = new() { Id = "root", Roles = ["admin"] };
    private static readonly string[] Known = ["name", "effect", "subjects", "verbs", "environments", "apps", "when"];
    private static readonly string[] Unknown = ["subject", "verb", "environment", "app", "Effect", "rule", "conditions", "", "effects", "\u0000", "verbs "];
    private static readonly string[] Words = ["*", "deploy", "read", "destroy", "launch", "user:root", "role:admin", "user:", "", " ", "prod*", "?", "score>=7", "score>=11", "approver!=requester", "actor.team=core", "moon=full", "allow", "deny", "ALLOW", "\u001b[2J", "\u0000", "a,b", "[x]", "#"];
    private static readonly string[] Values = ["null", "true", "1", "-0.5e9", "{}", "[]", "[[]]", "\"\"", "\"*\"", "[null]", "[1]", "{\"a\":1}"];

    [Fact]
    public void Json_parser_returns_a_policy_or_a_typed_error_and_never_allows_with_an_unknown_member()
    {
        Check.One(Config, Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var random = new Random(seed);
            var (json, hasUnknown) = JsonDocumentText(random);
            var mutated = random.Next(4) == 0;
            if (mutated)
            {
                json = Mutate(json, random);
            }

            var policy = Parse(() => AuthorizationPolicy.ParseJson(json), json);
            if (policy is not null && hasUnknown && !mutated)
            {
                throw new InvalidOperationException($"A document with an unknown member was accepted: {json}");
            }

            if (policy is not null && !mutated && HasUnknownMember(json))
            {
                throw new InvalidOperationException($"A document with an unknown member was accepted: {json}");
            }

            return true;
        }));
    }

    [Fact]
    public void Text_parser_returns_a_policy_or_a_typed_error()
    {
        Check.One(Config, Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var random = new Random(seed);
            var text = new StringBuilder();
            for (var line = random.Next(6); line > 0; line--)
            {
                if (random.Next(3) == 0)
                {
                    text.Append('[').Append(Pick(Words, random)).Append(random.Next(4) == 0 ? "" : "] ");
                }

                for (var field = random.Next(8); field > 0; field--)
                {
                    text.Append(Pick(Words, random)).Append(random.Next(5) == 0 ? "," : " ");
                }

                if (random.Next(4) == 0)
                {
                    text.Append(" when ").Append(Pick(Words, random)).Append(';').Append(Pick(Words, random));
                }

                text.Append(random.Next(5) == 0 ? "\r\n" : "\n");
            }

            var document = random.Next(4) == 0 ? Mutate(text.ToString(), random) : text.ToString();
            _ = Parse(() => AuthorizationPolicy.ParseText(document), document);
            return true;
        }));
    }

    private static AuthorizationPolicy? Parse(Func<AuthorizationPolicy> parse, string document)
    {
        try
        {
            var policy = parse();
            // A policy that parsed must also decide without throwing.
            _ = policy.DecideAsync(new AuthorizationRequest(Root, "deploy", "production", "shop", null)).AsTask().GetAwaiter().GetResult();
            return policy;
        }
        catch (OrchestrationException ex) when (ex.Kind == OrchestrationErrorKind.InvalidConfiguration && ex.Errors.Count > 0)
        {
            return null;
        }
        catch (Exception ex) when (ex is not OrchestrationException)
        {
            throw new InvalidOperationException($"The parser threw {ex.GetType().Name} for: {document}", ex);
        }
    }

    private static (string Json, bool HasUnknown) JsonDocumentText(Random random)
    {
        var hasUnknown = false;
        var rules = new List<string>();
        for (var r = random.Next(4); r > 0; r--)
        {
            if (random.Next(12) == 0)
            {
                rules.Add(Pick(Values, random));
                continue;
            }

            var members = new List<string>();
            foreach (var name in Known)
            {
                // Usually present and well-formed, sometimes missing, repeated or of the wrong shape.
                for (var times = random.Next(10) switch { 0 => 0, 1 => 2, _ => 1 }; times > 0; times--)
                {
                    members.Add($"{Quote(name)}:{MemberValue(name, random)}");
                }
            }

            if (random.Next(5) == 0)
            {
                hasUnknown = true;
                members.Add($"{Quote(Pick(Unknown, random))}:{MemberValue(Pick(Known, random), random)}");
            }

            rules.Add("{" + string.Join(",", members.OrderBy(_ => random.Next())) + "}");
        }

        var rootMembers = new List<string> { "\"rules\":[" + string.Join(",", rules) + "]" };
        if (random.Next(15) == 0)
        {
            hasUnknown = true;
            rootMembers.Add("\"version\":1");
        }

        return ("{" + string.Join(",", rootMembers) + "}", hasUnknown);
    }

    private static string MemberValue(string name, Random random)
    {
        if (random.Next(10) == 0)
        {
            return Pick(Values, random);
        }

        return name switch
        {
            "name" => Quote(Pick(Words, random)),
            "effect" => Quote(random.Next(8) == 0 ? Pick(Words, random) : random.Next(2) == 0 ? "allow" : "deny"),
            _ => "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => Quote(Pick(Words, random)))) + "]",
        };
    }

    private static string Mutate(string text, Random random)
    {
        var chars = new StringBuilder(text);
        for (var n = random.Next(1, 4); n > 0 && chars.Length > 0; n--)
        {
            var at = random.Next(chars.Length);
            switch (random.Next(3))
            {
                case 0:
                    chars.Remove(at, 1);
                    break;
                case 1:
                    chars.Insert(at, (char)random.Next(0, 0x80));
                    break;
                default:
                    chars.Length = at;
                    break;
            }
        }

        return chars.ToString();
    }

    /// <summary>An independent oracle: whether any object in the document has a member the format does not know.</summary>
    private static bool HasUnknownMember(string json)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return Walk(document.RootElement, root: true);

        static bool Walk(JsonElement element, bool root) => element.ValueKind switch
        {
            JsonValueKind.Object => element.EnumerateObject().Any(p => !(root ? p.Name == "rules" : Known.Contains(p.Name, StringComparer.Ordinal)) || Walk(p.Value, root: false)),
            JsonValueKind.Array => element.EnumerateArray().Any(e => Walk(e, root: false)),
            _ => false,
        };
    }

    private static string Quote(string text) => JsonSerializer.Serialize(text);

    private static string Pick(string[] items, Random random) => items[random.Next(items.Length)];
}
