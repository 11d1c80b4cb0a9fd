using System.Reflection;
using System.Text.RegularExpressions;
using MqttIm.Broker.Hosting;

namespace MqttIm.Broker.Tests;

/// <summary>
/// Every MqttIm setting that deploy/ sets (compose files, Kubernetes manifests, the systemd unit, the Dockerfile) names a
/// real option: a renamed or mistyped option fails here, not silently in someone's deployment (configuration binding
/// ignores keys it does not know).
/// </summary>
public sealed partial class DeploySettingsTests
{
    [GeneratedRegex(@"MQTTIM_((?:[A-Za-z][A-Za-z0-9]*)(?:__[A-Za-z][A-Za-z0-9]*)+)")]
    private static partial Regex EnvironmentSetting();

    [GeneratedRegex(@"--((?:[A-Z][A-Za-z0-9]*)(?::[A-Za-z][A-Za-z0-9]*)+)=")]
    private static partial Regex CommandLineSetting();

    /// <summary>Options classes by configuration section (each has a <c>SectionName</c> constant), across the host and its libraries.</summary>
    private static readonly Dictionary<string, Type> OptionsBySection = new[]
        {
            typeof(BrokerListenOptions).Assembly,
            typeof(MqttIm.ImExtensions.Storage.StorageOptions).Assembly,
            typeof(Microsoft.Extensions.DependencyInjection.PushBridgeServiceCollectionExtensions).Assembly,
        }
        .SelectMany(a => a.GetTypes())
        .Select(t => (Type: t, Section: t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string))
        .Where(x => x.Section is not null)
        .GroupBy(x => x.Section!, StringComparer.OrdinalIgnoreCase)
        .ToDictionary(g => g.Key, g => g.First().Type, StringComparer.OrdinalIgnoreCase);

    [Fact]
    public void EverySettingInDeploy_NamesAnExistingOption()
    {
        var deploy = Path.Combine(RepositoryRoot(), "deploy");
        var settings = Directory.EnumerateFiles(deploy, "*", SearchOption.AllDirectories)
            .SelectMany(file =>
            {
                var text = File.ReadAllText(file);
                return EnvironmentSetting().Matches(text).Select(m => m.Groups[1].Value.Replace("__", ":", StringComparison.Ordinal))
                    .Concat(CommandLineSetting().Matches(text).Select(m => m.Groups[1].Value))
                    .Select(path => (File: Path.GetRelativePath(deploy, file), Path: path));
            })
            .Distinct()
            .ToList();

        Assert.True(settings.Count >= 10, $"expected the deploy files to set the cluster's settings, found {settings.Count}");
        Assert.Contains(settings, s => s.Path == "Storage:Provider");
        Assert.Contains(settings, s => s.Path == "Cluster:Redis");
        var unknown = settings.Where(s => Resolve(s.Path) is not null).Select(s => $"{s.File}: {s.Path} ({Resolve(s.Path)})").ToList();
        Assert.True(unknown.Count == 0, "deploy/ sets settings no option has:\n" + string.Join("\n", unknown));
    }

    [Theory]
    [InlineData("Storage:Provider", null)]
    [InlineData("Storage:PostgreSQL:ConnectionString", null)]
    [InlineData("Storage:Providr", "Storage has no setting Providr")]
    [InlineData("Clustr:Redis", "no options section Clustr")]
    public void Resolve_FindsNestedOptions_AndNamesWhatIsMissing(string path, string? expected) => Assert.Equal(expected, Resolve(path));

    /// <summary>Null when <paramref name="path"/> (Section:Property[:Nested…]) is an option, otherwise what is missing.</summary>
    private static string? Resolve(string path)
    {
        var parts = path.Split(':');
        if (!OptionsBySection.TryGetValue(parts[0], out var type))
        {
            return "no options section " + parts[0];
        }

        var owner = parts[0];
        foreach (var name in parts.Skip(1))
        {
            var property = type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null)
            {
                return $"{owner} has no setting {name}";
            }

            type = property.PropertyType;
            owner = name;
        }

        return null;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MqttIm.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("MqttIm.sln not found above " + AppContext.BaseDirectory);
    }
}
