using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Groups;

/// <summary>Configuration section <c>Groups</c>.</summary>
public sealed class GroupOptions
{
    public const string SectionName = "Groups";

    /// <summary>Up to this many members the full message is pushed to every online member; above it members get merged hints and pull.</summary>
    [Range(1, 100_000)]
    public int SmallGroupMaxMembers { get; set; } = 500;

    /// <summary>How often merged "conversation at seq N" hints go out to members of large groups.</summary>
    [Range(10, 10_000)]
    public int HintIntervalMs { get; set; } = 100;

    [Range(2, 1_000_000)]
    public int MaxMembers { get; set; } = 100_000;
}
