Attribute VB_Name = "PerfxlRibbon"
' perfxl ribbon (customUI14.xml): every button calls PerfxlAction, which passes the button's id
' to Python. VBA holds no logic: perfxl.xl.on_ribbon decides what each button does.
' RunPython is the xlwings module's, which perfxl addin build takes from the installed xlwings.
Option Explicit

Public Sub PerfxlAction(control As IRibbonControl)
    RunPython "import perfxl.xl; perfxl.xl.on_ribbon('" & control.Id & "')"
End Sub
