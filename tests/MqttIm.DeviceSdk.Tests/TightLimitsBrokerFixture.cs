namespace MqttIm.DeviceSdk.Tests;

/// <summary>A broker on which a group of 3 is already "large" (members get hints, not messages) and messages can be changed for 1 s only.</summary>
public sealed class TightLimitsBrokerFixture : BrokerFixture
{
    public static readonly TimeSpan ChangeWindow = TimeSpan.FromSeconds(1);

    protected override string[] BrokerArgs => ["--Groups:SmallGroupMaxMembers=2", $"--Chat:ChangeWindow={ChangeWindow:c}"];
}
