namespace MqttIm.DeviceSdk.Tests;

/// <summary>
/// A broker on which a group of 3 is already "large" (members get hints, not messages), messages can be changed for 1 s
/// only, and a sync answer lists at most 2 conversations (so every catch-up pages conversations too).
/// </summary>
public sealed class TightLimitsBrokerFixture : BrokerFixture
{
    public static readonly TimeSpan ChangeWindow = TimeSpan.FromSeconds(1);

    public const int SyncConversationsPerPage = 2;

    protected override string[] BrokerArgs =>
        ["--Groups:SmallGroupMaxMembers=2", $"--Chat:ChangeWindow={ChangeWindow:c}", $"--Chat:SyncConversationsPerPage={SyncConversationsPerPage}"];
}
